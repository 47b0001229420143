// hub/operator_api.cpp — the operator API under /api/v1 (docs/hub-api.md)
// that reads devices and manages credentials; publish_api.cpp has the rest.
// Invariants: a role check comes before any change (viewer < editor <
// admin); GET /api/v1/devices without `limit` answers the whole array (the
// documented contract scripts rely on), with `limit` one page of it plus
// the fleet's counts and facets (the console's fleet page).
#include "hub/credentials.h"
#include "hub/screenshot_index.h"
#include "hub/site_files.h"
#include "schedule/identifiers.h"
#include "hub/hub_impl.h"
#include "hub/logging.h"
#include "hub/passwords.h"

#include <QJsonArray>

#include <algorithm>
#include <climits>
#include <map>
#include <tuple>
#include <QJsonDocument>
#include <QJsonObject>

namespace stoa::hub {
namespace {

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

// What the console's fleet list shows of a device's latest heartbeat (§5):
// the few fields a row has room for, not the whole document.
QJsonValue heartbeatSummary(const std::optional<StatusReport> &latest)
{
    if (!latest)
        return QJsonValue(QJsonValue::Null);
    const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(latest->body)).object();
    const QJsonObject sync = o.value("sync").toObject();
    const QJsonObject health = o.value("health").toObject();
    const auto orNull = [](const QJsonValue &v) { return v.isUndefined() ? QJsonValue(QJsonValue::Null) : v; };
    return QJsonObject{{"software_version", orNull(o.value("software_version"))},
                       {"now_playing", orNull(o.value("now_playing"))},
                       {"cpu_temp_c", orNull(health.value("cpu_temp_c"))},
                       {"disk_free_bytes", orNull(health.value("disk_free_bytes"))},
                       {"last_error", orNull(sync.value("last_error"))},
                       {"consecutive_failures", orNull(sync.value("consecutive_failures"))},
                       {"manifest_stale", orNull(o.value("manifest").toObject().value("stale"))},
                       {"clock_trusted", orNull(o.value("clock").toObject().value("trusted"))}};
}

// Sorting by state puts the devices that need someone first.
int stateRank(DeviceState s)
{
    switch (s) {
    case DeviceState::Offline: return 0;
    case DeviceState::Stale: return 1;
    case DeviceState::Never: return 2;
    case DeviceState::Online: return 3;
    }
    return 3;
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
        const auto asked = [&](const char *key) -> const std::string * {
            auto it = request.query.find(key);
            return it == request.query.end() ? nullptr : &it->second;
        };
        // Filters (all must hold): group, tag, state (one, or several
        // separated by commas), version (a manifest version, or "none"),
        // q (a part of the id, any case).
        const std::string *group = asked("group"), *tag = asked("tag"), *state = asked("state"), *version = asked("version"),
                          *search = asked("q"), *scope = asked("fleet");
        // fleet=active: revoked devices are no part of the answer at all,
        // neither the list nor `fleet`, the counts and the facets. A revoked
        // device never adopts anything again, so the console's adoption bar
        // ("N of M screens on vX") asks for this scope.
        if (scope && *scope != "all" && *scope != "active")
            return errorJson(400, "fleet must be all or active");
        const bool activeOnly = scope && *scope == "active";
        std::vector<std::string> states;
        if (state) {
            for (const auto &part : QString::fromStdString(*state).split(',', Qt::SkipEmptyParts))
                states.push_back(part.toStdString());
            for (const auto &st : states)
                if (st != "online" && st != "stale" && st != "offline" && st != "never")
                    return errorJson(400, "state must be online, stale, offline or never (or several, comma-separated)");
        }
        std::optional<std::int64_t> wantVersion;
        if (version && *version != "none") {
            bool ok = false;
            wantVersion = QString::fromStdString(*version).toLongLong(&ok);
            if (!ok)
                return errorJson(400, "version must be a manifest version number or \"none\"");
        }
        const QString needle = search ? QString::fromStdString(*search) : QString();
        // Paging, sorting: only the console asks for them.
        const std::string *limitText = asked("limit"), *offsetText = asked("offset"), *sortText = asked("sort"), *orderText = asked("order");
        const auto count = [](const std::string *text, long long lo, long long hi, long long fallback) -> std::optional<long long> {
            if (!text)
                return fallback;
            bool ok = false;
            const long long n = QString::fromStdString(*text).toLongLong(&ok);
            if (!ok || n < lo || n > hi)
                return std::nullopt;
            return n;
        };
        const auto limit = count(limitText, 1, 1000, 0);
        const auto offset = count(offsetText, 0, 100000000, 0);
        if (!limit || !offset)
            return errorJson(400, "limit must be 1-1000 and offset 0 or more");
        const std::string sort = sortText ? *sortText : "id";
        if (sort != "id" && sort != "state" && sort != "group" && sort != "last_seen" && sort != "version")
            return errorJson(400, "sort must be id, state, group, last_seen or version");
        if (orderText && *orderText != "asc" && *orderText != "desc")
            return errorJson(400, "order must be asc or desc");
        const bool descending = orderText && *orderText == "desc";

        struct Row {
            const DeviceSummary *dev;
            DeviceState state;
        };
        std::vector<Row> rows;
        rows.reserve(list->size());
        std::int64_t counts[4] = {0, 0, 0, 0};
        std::map<std::string, std::int64_t> groups, tags;
        std::map<std::int64_t, std::int64_t> versions;
        std::int64_t noVersion = 0, fleetSize = 0;
        for (const auto &dev : *list) {
            if (activeOnly && dev.revoked)
                continue;
            ++fleetSize;
            const DeviceState st = deviceState(dev, now, options);
            ++counts[static_cast<int>(st)];
            if (dev.group)
                ++groups[*dev.group];
            for (const auto &t : dev.tags)
                ++tags[t];
            if (dev.manifestVersion)
                ++versions[*dev.manifestVersion];
            else
                ++noVersion;
            if (group && dev.group != *group)
                continue;
            if (tag && std::find(dev.tags.begin(), dev.tags.end(), *tag) == dev.tags.end())
                continue;
            if (!states.empty() && std::find(states.begin(), states.end(), stateName(st)) == states.end())
                continue;
            if (version && (*version == "none" ? dev.manifestVersion.has_value() : dev.manifestVersion != wantVersion))
                continue;
            if (search && !QString::fromStdString(dev.id).contains(needle, Qt::CaseInsensitive))
                continue;
            rows.push_back({&dev, st});
        }
        // storage->devices() is by id already; any other order keeps id as
        // the tie-breaker, so pages never overlap or skip.
        const auto key = [&](const Row &r) {
            switch (sort[0]) {
            case 's': return std::tuple<std::int64_t, std::string>(stateRank(r.state), {});
            case 'g': return std::tuple<std::int64_t, std::string>(r.dev->group ? 1 : 0, r.dev->group.value_or(""));
            case 'l': return std::tuple<std::int64_t, std::string>(r.dev->lastSeenAtMs.value_or(INT64_MIN), {});
            case 'v': return std::tuple<std::int64_t, std::string>(r.dev->manifestVersion.value_or(INT64_MIN), {});
            default: return std::tuple<std::int64_t, std::string>(0, {});
            }
        };
        if (sort != "id" || descending)
            std::stable_sort(rows.begin(), rows.end(), [&](const Row &a, const Row &b) {
                const auto ka = key(a), kb = key(b);
                if (ka != kb)
                    return descending ? kb < ka : ka < kb;
                return descending && sort == "id" ? b.dev->id < a.dev->id : a.dev->id < b.dev->id;
            });

        if (!limitText) { // the documented contract: the whole (filtered) array
            QJsonArray out;
            for (const auto &r : rows)
                out.append(deviceJson(*r.dev, now));
            return jsonOf(200, out);
        }
        QJsonArray page;
        const auto first = std::min<std::size_t>(static_cast<std::size_t>(*offset), rows.size());
        const auto last = std::min<std::size_t>(first + static_cast<std::size_t>(*limit), rows.size());
        for (std::size_t i = first; i < last; ++i) {
            QJsonObject o = deviceJson(*rows[i].dev, now);
            auto latest = storage->latestStatus(rows[i].dev->id);
            if (!latest)
                return failed(latest.error());
            o.insert("heartbeat", heartbeatSummary(*latest));
            page.append(o);
        }
        QJsonObject facetGroups, facetTags, facetVersions;
        for (const auto &[name, n] : groups)
            facetGroups.insert(QString::fromStdString(name), static_cast<qint64>(n));
        for (const auto &[name, n] : tags)
            facetTags.insert(QString::fromStdString(name), static_cast<qint64>(n));
        for (const auto &[v, n] : versions)
            facetVersions.insert(QString::number(v), static_cast<qint64>(n));
        if (noVersion)
            facetVersions.insert("none", static_cast<qint64>(noVersion));
        return jsonOf(200, QJsonObject{
            {"total", static_cast<qint64>(rows.size())},
            {"offset", static_cast<qint64>(*offset)},
            {"limit", static_cast<qint64>(*limit)},
            {"fleet", static_cast<qint64>(fleetSize)},
            {"counts", QJsonObject{{"online", static_cast<qint64>(counts[0])}, {"stale", static_cast<qint64>(counts[1])},
                                   {"offline", static_cast<qint64>(counts[2])}, {"never", static_cast<qint64>(counts[3])}}},
            {"groups", facetGroups},
            {"tags", facetTags},
            {"versions", facetVersions},
            {"online_within_s", static_cast<qint64>(options.onlineMs / 1000)},
            {"stale_within_s", static_cast<qint64>(options.staleMs / 1000)},
            {"devices", page}});
    }

    case Route::Kind::ApiDeviceScreenshot: {
        // The latest stored screenshot, under the operator's credential (the
        // console fetches it with its token and shows it from a blob URL).
        const auto hex = latestScreenshot(options.dataDir, route.deviceId);
        if (!hex)
            return errorJson(404, "no screenshot of " + route.deviceId + " yet");
        HttpResponse r = serveFile(request, options.dataDir + "/screenshots/" + *hex + ".jpg", true);
        if (r.status == 404)
            return errorJson(404, "no screenshot of " + route.deviceId + " yet");
        r.contentType = "image/jpeg";
        // The route names a device, not a picture: a browser revalidates
        // (the ETag is the digest, so an unchanged picture is a 304).
        for (auto &[name, value] : r.headers)
            if (name == "Cache-Control")
                value = "private, no-cache";
        return r;
    }

    case Route::Kind::ApiDevice: {
        auto list = storage->devices(); // a per-id query when fleets make this matter
        if (!list)
            return failed(list.error());
        for (const auto &dev : *list) {
            if (dev.id != route.deviceId)
                continue;
            QJsonObject o = deviceJson(dev, nowMs());
            o.insert("online_within_s", static_cast<qint64>(options.onlineMs / 1000));
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

    case Route::Kind::ApiDeviceOnline: {
        // The online timeline over the last `days` days, by the fleet's
        // rule (deviceState()): online from each heartbeat's receipt for
        // onlineMs. Read from the online stretches ingest keeps (storage.h
        // OnlineStretch; kept 35 days, not bounded by count like the
        // heartbeats). Before the device's first stretch there is no
        // record, which is not the same as offline.
        int days = 1;
        if (auto it = request.query.find("days"); it != request.query.end()) {
            bool ok = false;
            days = QString::fromStdString(it->second).toInt(&ok);
            if (!ok || days < 1 || days > 30)
                return errorJson(400, "days must be 1-30");
        }
        auto exists = storage->deviceExists(route.deviceId);
        if (!exists)
            return failed(exists.error());
        if (!*exists)
            return errorJson(404, "no device " + route.deviceId);
        const std::int64_t until = nowMs(), from = until - std::int64_t{days} * 86400 * 1000;
        // A stretch that ended up to onlineMs before the window still covers its start.
        auto record = storage->onlineStretches(route.deviceId, from - options.onlineMs);
        if (!record)
            return failed(record.error());
        QJsonArray spans;
        std::int64_t spanFrom = 0, spanTo = -1;
        const auto close = [&] {
            if (spanTo > spanFrom)
                spans.append(QJsonObject{{"from", QString::fromStdString(rfc3339(spanFrom))},
                                         {"until", QString::fromStdString(rfc3339(spanTo))}});
        };
        // By start; stretches may overlap (storage.h), so they are merged.
        for (const OnlineStretch &stretch : record->stretches) {
            const std::int64_t a = std::max(stretch.fromMs, from), b = std::min(stretch.toMs + options.onlineMs, until);
            if (b <= a)
                continue;
            if (spanTo >= a) {
                spanTo = std::max(spanTo, b);
                continue;
            }
            close();
            spanFrom = a;
            spanTo = b;
        }
        close();
        return jsonOf(200, QJsonObject{
            {"from", QString::fromStdString(rfc3339(from))},
            {"until", QString::fromStdString(rfc3339(until))},
            {"online_within_s", static_cast<qint64>(options.onlineMs / 1000)},
            {"recorded_from", !record->recordedFromMs
                                  ? QJsonValue(QJsonValue::Null)
                                  : QJsonValue(QString::fromStdString(rfc3339(std::min(std::max(*record->recordedFromMs, from), until))))},
            {"spans", spans}});
    }

    case Route::Kind::ApiMediaList:
    case Route::Kind::ApiScheduleGet:
    case Route::Kind::ApiCommandsGet:
    case Route::Kind::ApiSigningKey:
        return publishedContent(*this, request, route);

    case Route::Kind::ApiMediaGet:
    case Route::Kind::ApiSchedulePreview:
    case Route::Kind::ApiScheduleWeek:
    case Route::Kind::ApiPublication:
    case Route::Kind::ApiPlaysReport:
    case Route::Kind::ApiAudit:
        return contentReport(*this, request, route, who);

    case Route::Kind::ApiLayoutList:
    case Route::Kind::ApiLayoutGet:
        return layoutRead(*this, route);

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
