// hub/dispatch.cpp — admission (auth, body limits) and routing of every
// request the hub gets.
// Invariants: every route but /healthz, /metrics, the login and the
// console's static files is authenticated before its body is read; every
// operator answer carries the browser headers of console_files.h (nosniff,
// no-store), so the console's JSON is never sniffed or cached.
#include "hub/console_files.h"
#include "hub/credentials.h"
#include "hub/screenshot_index.h"
#include "hub/hub_impl.h"
#include "hub/logging.h"

#include "endpoints/exposition.h"
#include "schedule/digest.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>

namespace stoa::hub {

HttpResponse errorJson(int status, const std::string &message)
{
    QJsonObject o{{"error", QString::fromStdString(message)}};
    return HttpResponse::json(status, QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString() + "\n");
}

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

} // namespace

std::variant<Principal, HttpResponse> Hub::Impl::authenticate(const HttpRequest &request, const Route &route)
{
    const auto token = bearerToken(request.header("authorization"));
    if (token.empty())
        return unauthorized("a bearer token is required (Authorization: Bearer …)");
    Principal who;
    if (route.deviceRoute()) {
        if (!looksLike(token, TokenKind::Device))
            return unauthorized("not a device token");
        const std::string hash = tokenHash(token);
        const auto known = tokens.lookup(hash);
        StorageResult<std::optional<std::string>> id = std::optional<std::string>();
        if (known.kind == DeviceTokens::Lookup::Kind::Device)
            id = known.deviceId;
        else if (known.kind == DeviceTokens::Lookup::Kind::Unknown)
            id = storage->deviceForToken(hash); // added since the last refresh, or not loaded yet
        if (!id) {
            m.dbErrors.inc();
            qCWarning(lcHub).noquote() << "auth:" << id.error().message.c_str();
            auto r = errorJson(503, "the hub cannot check credentials right now");
            r.headers.emplace_back("Retry-After", "10");
            return r;
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
    auto op = session ? storage->sessionOperator(tokenHash(token), nowMs()) : storage->operatorForToken(tokenHash(token));
    if (!op) {
        m.dbErrors.inc();
        auto r = errorJson(503, "the hub cannot check credentials right now");
        r.headers.emplace_back("Retry-After", "10");
        return r;
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
    auto who = authenticate(request, route);
    if (auto *r = std::get_if<HttpResponse>(&who))
        return early(std::move(*r));
    request.context = std::make_shared<const Principal>(std::move(std::get<Principal>(who)));
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
        const auto why = health();
        if (!why.empty())
            qCWarning(lcHub).noquote() << "healthz: 503:" << why.c_str();
        answer.send(why.empty() ? HttpResponse::text(200, "ok") : HttpResponse::text(503, why));
        return;
    }
    case Route::Kind::ApiLogin:
        answer.send(login(request));
        return;
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
    case Route::Kind::Metrics: {
        HttpResponse r;
        r.contentType = std::string(endpoints::exposition::kContentType);
        r.body = metrics.render();
        answer.send(std::move(r));
        return;
    }
    default:
        break;
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
    case Route::Kind::ApiMediaThumbnail:
        answer.send(contentReport(*this, request, route, *who));
        return;
    case Route::Kind::ApiUploadCreate:
    case Route::Kind::ApiUploadGet:
    case Route::Kind::ApiUploadChunk:
    case Route::Kind::ApiUploadComplete:
    case Route::Kind::ApiUploadDelete:
        upload(std::move(request), route, *who, std::move(answer));
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
        publishing(std::move(request), route, *who, std::move(answer));
        return;
    default:
        answer.send(api(request, route, *who));
        return;
    }
}

} // namespace stoa::hub
