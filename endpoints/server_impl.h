// endpoints/server_impl.h — the private half of LocalServer (server.h),
// shared by the files it is split over by concern:
//   server.cpp             the owner's side: routes, start() (bind, threads),
//                          stop(), the self-metrics, the accessors;
//   server_address.cpp     "ADDR:PORT" parsed (parseListenAddress);
//   server_connections.cpp the poll loop and each connection's states;
//   server_dispatch.cpp    a complete request to its handler: answered in
//                          the loop, or queued for the worker and back.
//
// One thread, one poll() loop. Each connection moves Reading → Writing →
// Lingering → closed, each state with a deadline on the monotonic clock; the
// poll timeout is the nearest deadline, so an idle server sleeps and a slow
// client costs nothing but its slot. A self-pipe wakes the loop for stop()
// and when the worker thread has an answer: a request for an OnWorker route
// parks its connection in Waiting (not polled, no deadline) and becomes a Job
// of the worker's queue; the worker's Done comes back through `finished` and
// the loop writes it like any other answer.
// Invariants: `connections`, `nextConnectionId` and `acceptPausedUntil` are
// the server thread's only; `routes` is fixed while running; workMutex
// guards jobs, finished, waiting and workerStop. Internal to those files.
#pragma once

#include "endpoints/metrics.h"
#include "endpoints/server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stoa::endpoints {

using Clock = std::chrono::steady_clock;

inline void closeFd(int &fd)
{
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

struct LocalServer::Impl {
    enum class State { Reading, Waiting, Writing, Lingering };

    struct Route {
        Handler handler;
        Runs runs = Runs::OnServerThread;
    };

    // A request for an OnWorker route, and its answer.
    struct Job {
        std::uint64_t connection = 0; // Connection::id
        Request request;
        const Handler *handler = nullptr; // into `routes`, fixed while running
    };
    struct Done {
        std::uint64_t connection = 0;
        Response response;
    };

    struct Connection {
        std::uint64_t id = 0; // never reused: a worker answer finds its connection by it
        bool headOnly = false;  // the request was HEAD (kept while Waiting)
        std::string pathLabel;  // the route, for the metrics (kept while Waiting)
        int fd = -1;
        State state = State::Reading;
        Clock::time_point deadline;
        std::string in;
        std::string out;
        std::size_t sent = 0;
    };

    explicit Impl(ServerLimits l, MetricsRegistry *registry); // server.cpp: registers the self-metrics

    void run();
    void acceptAll();
    void onReadable(Connection &c);
    void onWritable(Connection &c);
    void onDeadline(Connection &c);
    void respond(Connection &c, const Response &r, bool headOnly, std::string_view pathLabel);
    void dispatch(Connection &c, const Request &request);
    void finishWrite(Connection &c);
    void workerLoop();
    void takeFinished();
    void wake();

    const ServerLimits limits;
    std::map<std::string, Route, std::less<>> routes; // fixed while running

    CounterFamily requestsTotal;
    Counter refusedTotal;
    Gauge openConnections;

    int listenFd = -1;
    int wakeRead = -1, wakeWrite = -1;
    std::vector<Connection> connections; // server thread only
    std::uint64_t nextConnectionId = 1;  // server thread only
    Clock::time_point acceptPausedUntil{};

    // --- The worker. Guarded by workMutex: jobs, finished, waiting, workerStop.
    std::thread worker;
    std::mutex workMutex;
    std::condition_variable workReady;
    std::deque<Job> jobs;
    std::vector<Done> finished;
    int waiting = 0;         // jobs queued or running (the maxWaiting bound)
    bool workerStop = false;

    std::thread thread;
    std::atomic<bool> stopping{false};
    std::atomic<bool> running{false};
    std::atomic<std::uint16_t> boundPort{0};
    mutable std::mutex addressMutex;
    std::string boundAddress;
};

} // namespace stoa::endpoints
