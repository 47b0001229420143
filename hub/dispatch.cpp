// hub/dispatch.cpp — admission (auth, body limits) and routing of every
// request the hub gets.
// Invariants: every route but /healthz, /metrics, the login and the
// console's static files is authenticated before its body is read (an
// operator route that takes no body is authenticated on the pool, before
// anything else is done for it); every operator answer carries the browser
// headers of console_files.h (nosniff, no-store), so the console's JSON is
// never sniffed or cached.
// Threads (issue 18): libmicrohttpd's threads also answer /healthz and the
// devices, so nothing here waits on the database on them: /healthz reads
// the health probe's last result, the routes that read the database run on
// the pool (WorkPool, full: 503 + Retry-After), and the few credential
// lookups admit() must make before a body is read (a device token not in
// memory, an operator route with a body) go through the pool and are
// waited for at most kLookupWait, not at all while the probe says the
// database is down.
#include "hub/console_files.h"
#include "hub/credentials.h"
#include "hub/screenshot_index.h"
#include "hub/hub_impl.h"
#include "hub/logging.h"

#include "endpoints/exposition.h"
#include "schedule/digest.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <condition_variable>
#include <mutex>

namespace stoa::hub {

HttpResponse jsonOf(int status, const QJsonValue &v)
{
    const QByteArray text = v.isArray() ? QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact)
                                        : QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact);
    return HttpResponse::json(status, text.toStdString() + "\n");
}

HttpResponse errorJson(int status, const std::string &message)
{
    return jsonOf(status, QJsonObject{{"error", q(message)}});
}

QString q(const std::string &s) { return QString::fromStdString(s); }

std::string rfc3339(std::int64_t ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODate).toStdString();
}

namespace {

HttpResponse unauthorized(const std::string &why)
{
    auto r = errorJson(401, why);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"stoa-hub\"");
    return r;
}

HttpResponse cannotCheckCredentials()
{
    auto r = errorJson(503, "the hub cannot check credentials right now");
    r.headers.emplace_back("Retry-After", "10");
    return r;
}

// How long admit() waits on a libmicrohttpd thread for a credential lookup
// on the pool. Long enough for a loaded but working database (a console
// save must not fail for a 300 ms query); short enough that a database
// hanging before the probe notices (at most HealthProbe's interval +
// deadline, 2 s) stalls the thread's other connections for less than a
// load balancer's check timeout (docs/hub-api.md, "Hub routes").
constexpr std::chrono::milliseconds kLookupWait{1000};

// tokenHash(token), kept with the request's keep-alive connection: a device
// sends the same token with every request on it, and hashing it anew was
// ~4 % of the hub's instructions under ingest (issue 16, callgrind). The
// hash is a function of the token alone, so a kept one is never stale:
// revocation is decided by the lookup of the hash, after this.
std::string connectionTokenHash(const HttpRequest &request, std::string_view token)
{
    struct Kept {
        std::string token, hash;
    };
    if (!request.connectionState)
        return tokenHash(token);
    auto &slot = *request.connectionState;
    if (auto *kept = static_cast<Kept *>(slot.get()); kept && kept->token == token)
        return kept->hash;
    auto kept = std::make_shared<Kept>(Kept{std::string(token), tokenHash(token)});
    std::string hash = kept->hash;
    slot = std::move(kept);
    return hash;
}

} // namespace

template <class T>
std::optional<T> Hub::Impl::lookup(std::function<T()> query)
{
    if (!probe.current().databaseUp)
        return std::nullopt; // it would wait for nothing: answer at once
    struct Pending {
        std::mutex mutex;
        std::condition_variable done;
        std::optional<T> result;
        bool abandoned = false; // the waiter gave up: skip the query if not begun
    };
    auto pending = std::make_shared<Pending>();
    const bool queued = pool.submit([pending, query = std::move(query)] {
        {
            std::lock_guard lock(pending->mutex);
            if (pending->abandoned)
                return;
        }
        T r = query();
        std::lock_guard lock(pending->mutex);
        pending->result.emplace(std::move(r));
        pending->done.notify_all();
    });
    if (!queued)
        return std::nullopt;
    std::unique_lock lock(pending->mutex);
    if (!pending->done.wait_for(lock, kLookupWait, [&] { return pending->result.has_value(); })) {
        pending->abandoned = true;
        return std::nullopt;
    }
    return std::move(pending->result);
}

void Hub::Impl::pooled(Answer answer, std::function<void(Answer &)> job)
{
    auto shared = std::make_shared<Answer>(std::move(answer));
    if (pool.submit([shared, job = std::move(job)] { job(*shared); }))
        return;
    // Every worker busy and the queue full (a slow database, or more
    // operators and scrapers than it serves): say so now, hold nothing.
    auto r = errorJson(503, "the hub is busy: try again shortly");
    r.headers.emplace_back("Retry-After", std::to_string(options.http.retryAfterS));
    shared->send(std::move(r));
}

std::variant<Principal, HttpResponse> Hub::Impl::authenticate(const HttpRequest &request, const Route &route, bool onPool)
{
    // On the pool the storage is asked directly; on a libmicrohttpd thread
    // through lookup(), bounded (the file's header says why).
    auto ask = [&]<class T>(std::function<T()> query) -> std::optional<T> {
        if (onPool)
            return query();
        return lookup<T>(std::move(query));
    };
    const auto token = bearerToken(request.header("authorization"));
    if (token.empty())
        return unauthorized("a bearer token is required (Authorization: Bearer …)");
    Principal who;
    if (route.deviceRoute()) {
        if (!looksLike(token, TokenKind::Device))
            return unauthorized("not a device token");
        const std::string hash = connectionTokenHash(request, token);
        const auto known = tokens.lookup(hash);
        StorageResult<std::optional<std::string>> id = std::optional<std::string>();
        if (known.kind == DeviceTokens::Lookup::Kind::Device)
            id = known.deviceId;
        else if (known.kind == DeviceTokens::Lookup::Kind::Unknown) {
            // Added since the last refresh, or not loaded yet (a hub started
            // while the database was away: then the probe says so and this
            // answers at once).
            auto asked = ask(std::function<StorageResult<std::optional<std::string>>()>(
                [this, hash] { return storage->deviceForToken(hash); }));
            if (!asked)
                return cannotCheckCredentials();
            id = std::move(*asked);
        }
        if (!id) {
            m.dbErrors.inc();
            qCWarning(lcHub).noquote() << "auth:" << id.error().message.c_str();
            return cannotCheckCredentials();
        }
        if (!*id)
            return unauthorized("unknown or revoked device token");
        if (!route.deviceId.empty() && route.deviceId != **id) {
            qCWarning(lcHub).noquote() << "auth: device" << (*id)->c_str() << "from" << request.remote.c_str()
                                       << "asked for device" << route.deviceId.c_str() << "(403)";
            return errorJson(403, "this token is not for device " + route.deviceId);
        }
        who.device = **id;
        return who;
    }
    const bool session = looksLike(token, TokenKind::Session);
    if (!session && !looksLike(token, TokenKind::Operator))
        return unauthorized("not an operator token");
    auto asked = ask(std::function<StorageResult<std::optional<Operator>>()>([this, session, hash = tokenHash(token)] {
        return session ? storage->sessionOperator(hash, nowMs()) : storage->operatorForToken(hash);
    }));
    if (!asked)
        return cannotCheckCredentials();
    auto &op = *asked;
    if (!op) {
        m.dbErrors.inc();
        return cannotCheckCredentials();
    }
    if (!*op)
        return unauthorized(session ? "unknown or expired session: log in again" : "unknown operator token");
    who.op = **op;
    return who;
}

std::variant<std::size_t, HttpResponse> Hub::Impl::admit(HttpRequest &request)
{
    const Route route = classify(request.method, request.path);
    auto early = [&](HttpResponse r) {
        count(route, r.status, 0.0);
        return r;
    };
    switch (route.kind) {
    case Route::Kind::NotFound:
        return early(errorJson(404, "no such route: " + request.path));
    case Route::Kind::MethodNotAllowed: {
        auto r = errorJson(405, request.method + " is not allowed on " + request.path);
        r.headers.emplace_back("Allow", route.allow);
        return early(r);
    }
    case Route::Kind::Healthz:
    case Route::Kind::Metrics:
    case Route::Kind::StatusPage:  // public on purpose (status_board.h says what it shows)
    case Route::Kind::Console:     // the console's code is public; its data comes through the API
    case Route::Kind::ConsoleRoot:
        return std::size_t{0};
    case Route::Kind::ApiLogin:
        return std::size_t{4096};
    default:
        break;
    }
    const std::size_t limit = bodyLimit(route);
    if (route.operatorRoute() && limit == 0)
        return limit; // no body to guard: its credential is checked on the pool (handle())
    auto who = authenticate(request, route, false);
    if (auto *r = std::get_if<HttpResponse>(&who))
        return early(std::move(*r));
    request.context = std::make_shared<const Principal>(std::move(std::get<Principal>(who)));
    return limit;
}

std::size_t Hub::Impl::bodyLimit(const Route &route) const
{
    switch (route.kind) {
    case Route::Kind::Status: return options.statusLimit;
    case Route::Kind::Plays: return options.playsLimit;
    case Route::Kind::Screenshot: return options.screenshotLimit;
    case Route::Kind::ApiDeviceAdd: return std::size_t{64 * 1024};
    case Route::Kind::ApiCommandsPost: return std::size_t{64 * 1024};
    case Route::Kind::ApiDeviceGroup:
    case Route::Kind::ApiDeviceTags: return std::size_t{64 * 1024};
    case Route::Kind::ApiSchedulePut:
    case Route::Kind::ApiSchedulePreview: return std::size_t{1024 * 1024};
    case Route::Kind::ApiLayoutPut: return std::size_t{256 * 1024};
    case Route::Kind::ApiKeysPut: return std::size_t{4 * 1024 * 1024};
    case Route::Kind::ApiMediaPut: return options.mediaLimit;
    case Route::Kind::ApiUploadCreate:
    case Route::Kind::ApiUploadComplete: return std::size_t{4096};
    case Route::Kind::ApiUploadChunk: return options.uploads.chunkBytes;
    default: return std::size_t{0};
    }
}

Hub::Impl::Answer::Answer(Impl &impl, Route route, Reply reply)
    : impl_(impl), route_(std::move(route)), reply_(std::move(reply)), start_(std::chrono::steady_clock::now())
{
}

void Hub::Impl::Answer::send(HttpResponse response)
{
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
    impl_.count(route_, response.status, took.count());
    if (route_.operatorRoute() || route_.kind == Route::Kind::ApiLogin)
        addApiBrowserHeaders(response);
    // A stored screenshot becomes the device's latest only once committed
    // (screenshot_index.h); handle() put its digest in route_.digest.
    if (route_.kind == Route::Kind::Screenshot && response.status / 100 == 2 && route_.digest)
        recordLatestScreenshot(impl_.options.dataDir, route_.deviceId, route_.digest->hex());
    reply_.send(std::move(response));
}

void Hub::Impl::handle(HttpRequest request, Reply reply)
{
    Route route = classify(request.method, request.path);
    if (route.kind == Route::Kind::Screenshot)
        route.digest = schedule::sha256(QByteArrayView(request.body.data(), static_cast<qsizetype>(request.body.size())));
    Answer answer(*this, route, std::move(reply));
    const auto who = std::static_pointer_cast<const Principal>(request.context);
    switch (route.kind) {
    case Route::Kind::Healthz: {
        // The probe's last result (health_probe.h): answers at once whatever
        // the database does; the probe logs the transitions.
        const auto verdict = probe.current();
        auto r = verdict.healthy() ? HttpResponse::text(200, "ok") : HttpResponse::text(503, verdict.why);
        r.headers.emplace_back("Cache-Control", "no-store");
        answer.send(std::move(r));
        return;
    }
    case Route::Kind::ApiLogin: {
        // scrypt and the operator's row: on the pool, never here.
        auto req = std::make_shared<HttpRequest>(std::move(request));
        pooled(std::move(answer), [this, req](Answer &a) { a.send(login(*req)); });
        return;
    }
    case Route::Kind::ConsoleRoot:
        answer.send(consoleRedirect());
        return;
    case Route::Kind::Console: {
        static const std::string fallback = defaultConsoleDir();
        answer.send(serveConsoleFile(request, options.consoleDir.empty() ? fallback : options.consoleDir, route.name));
        return;
    }
    case Route::Kind::StatusPage: {
        HttpResponse r;
        r.contentType = "text/html; charset=utf-8";
        r.body = statusBoard.html();
        r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
        r.headers.emplace_back("X-Content-Type-Options", "nosniff");
        r.headers.emplace_back("Cache-Control", "no-cache");
        answer.send(std::move(r));
        return;
    }
    case Route::Kind::Metrics:
        // The collectors read the fleet from the database: on the pool.
        pooled(std::move(answer), [this](Answer &a) {
            HttpResponse r;
            r.contentType = std::string(endpoints::exposition::kContentType);
            r.body = metrics.render();
            a.send(std::move(r));
        });
        return;
    default:
        break;
    }
    if (route.operatorRoute() && !who) {
        // Admitted without its credential checked (it takes no body,
        // admit()): checked here on the pool, then served there.
        auto req = std::make_shared<HttpRequest>(std::move(request));
        pooled(std::move(answer), [this, req, route](Answer &a) {
            auto checked = authenticate(*req, route, true);
            if (auto *r = std::get_if<HttpResponse>(&checked)) {
                a.send(std::move(*r));
                return;
            }
            operatorRequest(std::move(*req), route, std::get<Principal>(checked), std::move(a), true);
        });
        return;
    }
    if (!who) { // admit() always sets it past this point
        answer.send(errorJson(500, "request was not admitted"));
        return;
    }
    switch (route.kind) {
    case Route::Kind::Keys:
    case Route::Kind::FleetManifest:
    case Route::Kind::DeviceManifest:
    case Route::Kind::Blob:
        answer.send(siteFile(request, route));
        return;
    case Route::Kind::Status:
        status(std::move(request), *who, std::move(answer));
        return;
    case Route::Kind::Plays:
        plays(std::move(request), *who, std::move(answer));
        return;
    case Route::Kind::Screenshot:
        screenshot(std::move(request), *who, std::move(answer));
        return;
    case Route::Kind::Wake: {
        auto shared = std::make_shared<Answer>(std::move(answer));
        const auto after = request.query.find("after");
        wake.wait(route.deviceId, after == request.query.end() ? std::string() : after->second,
                  [shared](HttpResponse r) { shared->send(std::move(r)); });
        return;
    }
    default:
        operatorRequest(std::move(request), route, *who, std::move(answer), false);
        return;
    }
}

void Hub::Impl::operatorRequest(HttpRequest request, const Route &route, const Principal &who, Answer answer, bool onPool)
{
    switch (route.kind) {
    case Route::Kind::ApiUploadCreate:
    case Route::Kind::ApiUploadGet:
    case Route::Kind::ApiUploadChunk:
    case Route::Kind::ApiUploadComplete:
    case Route::Kind::ApiUploadDelete:
        upload(std::move(request), route, who, std::move(answer));
        return;
    case Route::Kind::ApiMediaPut:
    case Route::Kind::ApiSchedulePut:
    case Route::Kind::ApiScheduleDelete:
    case Route::Kind::ApiCommandsPost:
    case Route::Kind::ApiKeysPut:
    case Route::Kind::ApiDeviceGroup:
    case Route::Kind::ApiMediaDelete:
    case Route::Kind::ApiLayoutPut:
    case Route::Kind::ApiLayoutDelete:
    case Route::Kind::ApiPlaylistDelete:
        publishing(std::move(request), route, who, std::move(answer));
        return;
    default:
        break;
    }
    // The rest read (or change) the database: answered on the pool.
    auto serve = [this, route, who](const HttpRequest &req, Answer &a) {
        if (route.kind == Route::Kind::ApiMediaThumbnail)
            a.send(contentReport(*this, req, route, who));
        else
            a.send(api(req, route, who));
    };
    if (onPool) {
        serve(request, answer);
        return;
    }
    auto req = std::make_shared<HttpRequest>(std::move(request));
    pooled(std::move(answer), [req, serve](Answer &a) { serve(*req, a); });
}

} // namespace stoa::hub
