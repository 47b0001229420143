// The operator API under /api/v1 (docs/hub-api.md).
#include "hub/credentials.h"
#include "schedule/identifiers.h"
#include "hub/hub_impl.h"
#include "hub/logging.h"
#include "hub/passwords.h"

#include <QJsonArray>

#include <algorithm>
#include <QJsonDocument>
#include <QJsonObject>

namespace stoa::hub {
namespace {

HttpResponse jsonOf(int status, const QJsonValue &v)
{
    const QByteArray text = v.isArray() ? QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact)
                                        : QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact);
    return HttpResponse::json(status, text.toStdString() + "\n");
}

QJsonValue optMs(const std::optional<std::int64_t> &ms)
{
    return ms ? QJsonValue(QString::fromStdString(rfc3339(*ms))) : QJsonValue(QJsonValue::Null);
}

QJsonValue optInt(const std::optional<std::int64_t> &v)
{
    return v ? QJsonValue(static_cast<qint64>(*v)) : QJsonValue(QJsonValue::Null);
}

HttpResponse storageError(const StorageError &e)
{
    switch (e.code) {
    case StorageError::Code::Conflict: return errorJson(409, e.message);
    case StorageError::Code::NotFound: return errorJson(404, e.message);
    case StorageError::Code::Invalid: return errorJson(400, e.message);
    default: {
        auto r = errorJson(503, "database: " + e.message);
        r.headers.emplace_back("Retry-After", "10");
        return r;
    }
    }
}

int limitOf(const HttpRequest &request, int fallback, int max)
{
    auto it = request.query.find("limit");
    if (it == request.query.end())
        return fallback;
    bool ok = false;
    const int n = QString::fromStdString(it->second).toInt(&ok);
    return ok && n > 0 ? std::min(n, max) : fallback;
}

} // namespace

HttpResponse Hub::Impl::api(const HttpRequest &request, const Route &route, const Principal &who)
{
    const bool admin = who.op.role == Role::Admin;
    const auto deviceJson = [&](const DeviceSummary &dev, std::int64_t now) {
        QJsonArray tags;
        for (const auto &t : dev.tags)
            tags.append(QString::fromStdString(t));
        return QJsonObject{{"id", QString::fromStdString(dev.id)},
                           {"state", stateName(deviceState(dev, now, options))},
                           {"revoked", dev.revoked},
                           {"group", dev.group ? QJsonValue(QString::fromStdString(*dev.group)) : QJsonValue(QJsonValue::Null)},
                           {"tags", tags},
                           {"last_seen_at", optMs(dev.lastSeenAtMs)},
                           {"manifest_version", optInt(dev.manifestVersion)},
                           {"plays", static_cast<qint64>(dev.plays)},
                           {"last_screenshot_at", optMs(dev.lastScreenshotAtMs)}};
    };
    auto failed = [&](const StorageError &e) {
        if (e.code == StorageError::Code::Failed || e.code == StorageError::Code::Unavailable)
            m.dbErrors.inc();
        return storageError(e);
    };

    switch (route.kind) {
    case Route::Kind::ApiLogout: {
        const auto token = bearerToken(request.header("authorization"));
        if (!looksLike(token, TokenKind::Session))
            return errorJson(400, "only a login session can log out (an API token is revoked by an admin)");
        if (auto r = storage->removeSession(tokenHash(token)); !r)
            return failed(r.error());
        HttpResponse r;
        r.status = 204;
        return r;
    }

    case Route::Kind::ApiWhoami:
        return jsonOf(200, QJsonObject{{"name", QString::fromStdString(who.op.name)}, {"role", roleName(who.op.role)}});

    case Route::Kind::ApiDevices: {
        auto list = storage->devices();
        if (!list)
            return failed(list.error());
        const auto now = nowMs();
        // Filters: ?group=NAME&tag=NAME&state=online (all must hold).
        const auto q = [&](const char *key) -> const std::string * {
            auto it = request.query.find(key);
            return it == request.query.end() ? nullptr : &it->second;
        };
        const std::string *group = q("group"), *tag = q("tag"), *state = q("state");
        QJsonArray out;
        for (const auto &dev : *list) {
            if (group && dev.group != *group)
                continue;
            if (tag && std::find(dev.tags.begin(), dev.tags.end(), *tag) == dev.tags.end())
                continue;
            if (state && *state != stateName(deviceState(dev, now, options)))
                continue;
            out.append(deviceJson(dev, now));
        }
        return jsonOf(200, out);
    }

    case Route::Kind::ApiDevice: {
        auto list = storage->devices(); // a per-id query when fleets make this matter
        if (!list)
            return failed(list.error());
        for (const auto &dev : *list) {
            if (dev.id != route.deviceId)
                continue;
            QJsonObject o = deviceJson(dev, nowMs());
            auto latest = storage->latestStatus(dev.id);
            if (!latest)
                return failed(latest.error());
            o.insert("status", *latest ? QJsonDocument::fromJson(QByteArray::fromStdString((*latest)->body)).object()
                                       : QJsonValue(QJsonValue::Null));
            return jsonOf(200, o);
        }
        return errorJson(404, "no device " + route.deviceId);
    }

    case Route::Kind::ApiDeviceAdd:
    case Route::Kind::ApiDeviceToken: {
        if (!admin)
            return errorJson(403, "only an admin may issue device tokens");
        std::string id = route.deviceId;
        if (route.kind == Route::Kind::ApiDeviceAdd) {
            const auto body = QJsonDocument::fromJson(QByteArray::fromStdString(request.body)).object();
            id = body.value("id").toString().toStdString();
            if (!schedule::isDeviceId(id))
                return errorJson(400, "\"id\" must be 1-64 characters of [A-Za-z0-9._-]");
        }
        const auto token = newToken(TokenKind::Device);
        if (!token)
            return errorJson(500, "no random bytes for a token");
        auto r = route.kind == Route::Kind::ApiDeviceAdd ? storage->addDevice(id, tokenHash(*token), nowMs())
                                                         : storage->setDeviceToken(id, tokenHash(*token));
        if (!r)
            return failed(r.error());
        tokens.changed();
        qCInfo(lcHub).noquote() << "operator" << who.op.name.c_str() << "issued a token for device" << id.c_str();
        return jsonOf(route.kind == Route::Kind::ApiDeviceAdd ? 201 : 200,
                      QJsonObject{{"id", QString::fromStdString(id)}, {"token", QString::fromStdString(*token)}});
    }

    case Route::Kind::ApiDeviceTags: {
        if (who.op.role == Role::Viewer)
            return errorJson(403, "only an editor or admin may tag devices");
        const auto body = QJsonDocument::fromJson(QByteArray::fromStdString(request.body)).object();
        if (!body.value("tags").isArray())
            return errorJson(400, "expected {\"tags\": [\"name\", …]}");
        std::vector<std::string> tags;
        for (const auto &v : body.value("tags").toArray()) {
            const auto t = v.toString().toStdString();
            if (!v.isString() || !schedule::isDeviceId(t))
                return errorJson(400, "a tag is 1-64 characters of [A-Za-z0-9._-]");
            tags.push_back(t);
        }
        if (tags.size() > 64)
            return errorJson(400, "at most 64 tags");
        if (auto r = storage->setDeviceTags(route.deviceId, tags); !r)
            return failed(r.error());
        HttpResponse r;
        r.status = 204;
        return r;
    }

    case Route::Kind::ApiDeviceRevoke: {
        if (!admin)
            return errorJson(403, "only an admin may revoke devices");
        if (auto r = storage->revokeDevice(route.deviceId); !r)
            return failed(r.error());
        tokens.changed();
        qCInfo(lcHub).noquote() << "operator" << who.op.name.c_str() << "revoked device" << route.deviceId.c_str();
        HttpResponse r;
        r.status = 204;
        return r;
    }

    case Route::Kind::ApiDevicePlays: {
        auto list = storage->plays(route.deviceId, limitOf(request, 1000, 100000));
        if (!list)
            return failed(list.error());
        QJsonArray out;
        for (const auto &p : *list) {
            QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(p.line)).object();
            o.insert("received_at", QString::fromStdString(rfc3339(p.receivedAtMs)));
            out.append(o);
        }
        return jsonOf(200, out);
    }

    case Route::Kind::ApiDeviceHistory: {
        auto list = storage->statusHistory(route.deviceId, limitOf(request, 100, 10000));
        if (!list)
            return failed(list.error());
        QJsonArray out;
        for (const auto &s : *list)
            out.append(QJsonObject{{"received_at", QString::fromStdString(rfc3339(s.receivedAtMs))},
                                   {"manifest_version", optInt(s.manifestVersion)},
                                   {"status", QJsonDocument::fromJson(QByteArray::fromStdString(s.body)).object()}});
        return jsonOf(200, out);
    }

    case Route::Kind::ApiMediaList:
    case Route::Kind::ApiScheduleGet:
    case Route::Kind::ApiCommandsGet:
    case Route::Kind::ApiSigningKey:
        return publishedContent(*this, request, route);

    default:
        return errorJson(404, "no such route: " + request.path);
    }
}

HttpResponse Hub::Impl::login(const HttpRequest &request)
{
    const auto body = QJsonDocument::fromJson(QByteArray::fromStdString(request.body)).object();
    const std::string name = body.value("name").toString().toStdString();
    const std::string password = body.value("password").toString().toStdString();
    if (name.empty() || password.empty())
        return errorJson(400, "expected {\"name\": …, \"password\": …}");
    const std::int64_t now = nowMs();
    constexpr std::int64_t kWindowMs = 15 * 60 * 1000;
    constexpr int kMaxFailures = 5;
    {
        std::lock_guard lock(loginMutex);
        auto it = loginFailures.find(name);
        if (it != loginFailures.end() && now - it->second.second >= kWindowMs)
            loginFailures.erase(it);
        else if (it != loginFailures.end() && it->second.first >= kMaxFailures) {
            auto r = errorJson(429, "too many failed logins for " + name + "; try again later");
            r.headers.emplace_back("Retry-After", std::to_string((kWindowMs - (now - it->second.second)) / 1000 + 1));
            return r;
        }
    }
    if (!logins.try_acquire_for(std::chrono::seconds(5))) {
        auto r = errorJson(503, "logins are busy; try again");
        r.headers.emplace_back("Retry-After", "2");
        return r;
    }
    auto stored = storage->operatorPassword(name);
    bool ok = false;
    // An unknown name costs the same work as a wrong password: no timing
    // tells which names exist.
    static const std::string dummy = hashPassword("stoa: no such operator").value_or("");
    if (stored && *stored && !(*stored)->second.empty())
        ok = verifyPassword(password, (*stored)->second);
    else
        (void)verifyPassword(password, dummy);
    logins.release();
    if (!stored) {
        m.dbErrors.inc();
        return storageError(stored.error());
    }
    if (!ok) {
        std::lock_guard lock(loginMutex);
        auto &f = loginFailures[name];
        if (f.first == 0)
            f.second = now;
        ++f.first;
        qCWarning(lcHub).noquote() << "login refused for" << name.c_str() << "from" << request.remote.c_str();
        return errorJson(401, "wrong name or password");
    }
    {
        std::lock_guard lock(loginMutex);
        loginFailures.erase(name);
    }
    const auto token = newToken(TokenKind::Session);
    if (!token)
        return errorJson(500, "no random bytes for a session");
    constexpr std::int64_t kSessionMs = std::int64_t{12} * 3600 * 1000;
    if (auto r = storage->addSession(tokenHash(*token), name, now + kSessionMs); !r) {
        m.dbErrors.inc();
        return storageError(r.error());
    }
    qCInfo(lcHub).noquote() << "operator" << name.c_str() << "logged in from" << request.remote.c_str();
    return jsonOf(200, QJsonObject{{"token", QString::fromStdString(*token)},
                                   {"name", QString::fromStdString(name)},
                                   {"role", roleName((*stored)->first.role)},
                                   {"expires_at", QString::fromStdString(rfc3339(now + kSessionMs))}});
}

} // namespace stoa::hub
