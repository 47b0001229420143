// hub/hub_impl.h — Hub's private state, shared by the files that implement
// it (hub.cpp: life cycle, metrics, health; dispatch.cpp: admission and
// routing; device_routes.cpp: §1/§5/§6; operator_api.cpp: /api/v1).
// Not included outside hub/.
#pragma once

#include "hub/device_tokens.h"
#include "hub/health_probe.h"
#include "hub/hub.h"
#include "hub/publisher.h"
#include "hub/routes.h"
#include "hub/status_board.h"
#include "hub/thumbnails.h"
#include "hub/upload_store.h"
#include "hub/wake.h"
#include "hub/work_pool.h"

#include "endpoints/metrics.h"

#include <QJsonValue>
#include <QString>

#include <condition_variable>
#include <map>
#include <semaphore>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace stoa::hub {

// Who a request was admitted as (admit() sets it, handle() reads it).
struct Principal {
    std::string device;   // a device route: the token's device id
    Operator op;          // an operator route
};

struct Hub::Impl {
    Impl(HubOptions options, std::unique_ptr<Storage> storage, std::unique_ptr<Publisher> publisher);
    ~Impl();

    const HubOptions options;
    std::unique_ptr<Storage> storage;    // thread-safe (storage.h)
    IngestQueue ingest;                  // over `storage`
    DeviceTokens tokens;                 // over `storage`; started by Hub::start()
    std::unique_ptr<Publisher> publisher; // thread-safe (publisher.h)
    UploadStore uploads{options.dataDir + "/uploads", options.uploads}; // thread-safe (upload_store.h)
    Thumbnails thumbnails{Thumbnails::Options{.dir = options.dataDir + "/thumbnails"}}; // videos' frames, its own worker
    WakeWaiters wake;                    // over `publisher`
    Notifier notifier;                   // over `storage`; started by Hub::start() when configured
    // /healthz, the status page and the `healthy` gauge read this probe's
    // last result, never the database (health_probe.h); before statusBoard,
    // which reads it, so it outlives the board's thread.
    HealthProbe probe;
    // The routes that read the database (/metrics, the operator API, the
    // login) run here, never on libmicrohttpd's threads (work_pool.h); a
    // full queue is answered 503 + Retry-After (busy()).
    WorkPool pool{WorkPool::Options{}};
    StatusBoard statusBoard;             // GET /status-page; samples the parts below every 5 s
    std::unique_ptr<HttpServer> server;  // created by start()
    endpoints::MetricsRegistry metrics;

    // Metric handles, set once by registerMetrics() (thread-safe to use).
    struct {
        endpoints::CounterFamily requests;
        endpoints::HistogramFamily latency;
        endpoints::CounterFamily plays;
        endpoints::Counter dbErrors;
    } m;

    // Publishing (hashing media, signing, writing the site) runs on one
    // worker thread, never on the HTTP threads; a bounded queue.
    std::mutex workMutex;                // guards work, workStop
    std::condition_variable workWake;
    std::deque<std::function<void()>> work;
    bool workStop = false;
    std::thread worker;
    void startWorker();
    void stopWorker();
    bool post(std::function<void()> task); // false: queue full or stopping

    // Logins: scrypt costs ~32 MiB and 0.1 s a try, so at most two run at
    // once (a burst of logins cannot balloon memory), and a name with 5
    // failures in 15 minutes is refused (429) until the window passes.
    std::counting_semaphore<2> logins{2};
    std::mutex loginMutex;               // guards loginFailures
    std::map<std::string, std::pair<int, std::int64_t>> loginFailures; // name -> (failures, window start ms)
    HttpResponse login(const HttpRequest &request);

    // Retention runs every 10 minutes on its own thread.
    std::mutex retentionMutex;           // guards retentionStop
    std::condition_variable retentionWake;
    bool retentionStop = false;
    std::thread retentionThread;

    std::string registerMetrics();       // empty: ok
    void count(const Route &route, int status, double seconds);
    const char *dataDirProblem() const;  // nullptr, or "not reachable", "read-only", "full"
    // The status page's probe (status_board.h); on the board's thread only
    // (and Hub::start() before it), which alone uses the counters after it.
    std::vector<PartSample> statusParts();
    std::uint64_t statusRefused = 0, statusShed = 0, statusFailedTries = 0, statusDelivered = 0;
    static std::int64_t nowMs();
    void startRetention();
    void stopRetention();

    // dispatch.cpp
    std::variant<std::size_t, HttpResponse> admit(HttpRequest &request);
    std::size_t bodyLimit(const Route &route) const; // 0: the route takes no body
    void handle(HttpRequest request, Reply reply);
    // `onPool`: on a pool thread, where the storage may be asked directly;
    // else (admit(), a libmicrohttpd thread) only through lookup().
    std::variant<Principal, HttpResponse> authenticate(const HttpRequest &request, const Route &route, bool onPool);

    // An answer on its way: records the route's metrics when sent.
    class Answer {
    public:
        Answer(Impl &impl, Route route, Reply reply);
        void send(HttpResponse response);
        const Route &route() const { return route_; }

    private:
        Impl &impl_;
        Route route_;
        Reply reply_;
        std::chrono::steady_clock::time_point start_;
    };
    // Runs `job` on the pool with `answer`; when the pool's queue is full,
    // answers 503 + Retry-After at once instead.
    void pooled(Answer answer, std::function<void(Answer &)> job);
    // A storage lookup for admit() (authentication) on the pool, waited
    // for at most kLookupWait on the calling libmicrohttpd thread; nullopt:
    // no answer in time, the pool full, or the probe says the database is
    // down (the caller answers 503 + Retry-After).
    template <class T>
    std::optional<T> lookup(std::function<T()> query);
    // An operator route once its credential is checked; `onPool`: already on
    // a pool thread (the routes that read the database run there).
    void operatorRequest(HttpRequest request, const Route &route, const Principal &who, Answer answer, bool onPool);

    // device_routes.cpp
    HttpResponse siteFile(const HttpRequest &request, const Route &route);
    void status(HttpRequest request, const Principal &who, Answer answer);
    // The heartbeat's fields read: the rest of status() (device id, clock, body).
    void storeStatus(HttpRequest request, const Principal &who, StatusReport report, Answer answer);
    void plays(HttpRequest request, const Principal &who, Answer answer);
    void screenshot(HttpRequest request, const Principal &who, Answer answer);
    // Submits to the ingest queue; `ok` is what a committed batch answers.
    // `then` runs after a successful commit (on the ingest thread: keep it short).
    void submit(IngestBatch batch, std::size_t bytes, Answer answer, HttpResponse ok, std::function<void()> then = {});

    // operator_api.cpp
    HttpResponse api(const HttpRequest &request, const Route &route, const Principal &who);
    // publish_api.cpp: the routes that change content, answered from the worker.
    void publishing(HttpRequest request, const Route &route, const Principal &who, Answer answer);
    // upload_api.cpp: resumable uploads; completion is hashed and stored on the worker.
    void upload(HttpRequest request, const Route &route, const Principal &who, Answer answer);
};

// The hub's JSON answers (dispatch.cpp): jsonOf() any object or array,
// compact, one line; errorJson() {"error": message}; q() the std::string →
// QString every text put into them goes through.
HttpResponse jsonOf(int status, const QJsonValue &v);
HttpResponse errorJson(int status, const std::string &message);
QString q(const std::string &s);
// publish_api.cpp: the read-only content routes.
HttpResponse publishedContent(Hub::Impl &impl, const HttpRequest &request, const Route &route);
// content_api.cpp: media bytes, schedule previews and week views, the
// publication's version, the proof-of-play report and the audit log.
HttpResponse contentReport(Hub::Impl &impl, const HttpRequest &request, const Route &route, const Principal &who);
// content_api.cpp: a stored schedule's text as JSON for the console's
// editor (GET /api/v1/schedules/TARGET?format=json).
HttpResponse scheduleAsJson(const std::string &text, const std::string &target);
// content_api.cpp: one audit log entry for a change that succeeded; a
// storage failure is logged, never fails the change (it is already made).
void recordAudit(Hub::Impl &impl, const std::string &who, const std::string &action, const std::string &target,
                 const std::string &detail);
std::string rfc3339(std::int64_t ms);
// layout_api.cpp: the layouts of a stored schedule, all or one.
HttpResponse layoutRead(Hub::Impl &impl, const Route &route);
// layout_api.cpp: the schedule text after a layout PUT/DELETE or playlist
// DELETE (on the worker; publish_api.cpp stores it with putSchedule), or
// the refusal: 400 a malformed body, 404 nothing by that name, 409 in use.
std::expected<std::string, HttpResponse> editedSchedule(Hub::Impl &impl, const HttpRequest &request, const Route &route);

} // namespace stoa::hub
