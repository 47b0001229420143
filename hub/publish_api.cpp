// The operator routes that read or change published content (docs/hub-api.md):
// media, schedules, commands, the keys document and the signing key. The
// changes run on the worker thread (Hub::Impl::post), never on HTTP threads.
#include "hub/hub_impl.h"
#include "schedule/identifiers.h"
#include "hub/logging.h"
#include "publish/media_type.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace stoa::hub {
namespace {

HttpResponse publishError(const publish::Error &e)
{
    switch (e.kind) {
    case publish::ErrorKind::Invalid:
    case publish::ErrorKind::Usage: return errorJson(400, e.message.toStdString());
    case publish::ErrorKind::Io: return errorJson(500, e.message.toStdString());
    }
    return errorJson(500, e.message.toStdString());
}

QJsonObject publicationJson(const Publication &p)
{
    QJsonArray manifests;
    for (const auto &m : p.manifests)
        manifests.append(QString::fromStdString(m));
    return QJsonObject{{"version", static_cast<qint64>(p.version)}, {"manifests", manifests}};
}

const char *auditAction(Route::Kind kind)
{
    switch (kind) {
    case Route::Kind::ApiMediaPut: return "media.upload";
    case Route::Kind::ApiMediaDelete: return "media.delete";
    case Route::Kind::ApiSchedulePut: return "schedule.publish";
    case Route::Kind::ApiScheduleDelete: return "schedule.remove";
    case Route::Kind::ApiCommandsPost: return "command.send";
    case Route::Kind::ApiDeviceGroup: return "device.group";
    case Route::Kind::ApiKeysPut: return "keys.replace";
    case Route::Kind::ApiLayoutPut: return "layout.put";
    case Route::Kind::ApiLayoutDelete: return "layout.delete";
    case Route::Kind::ApiPlaylistDelete: return "playlist.delete";
    default: return "change";
    }
}

// One line for people, from the answer the operator got (its version, the
// medium's digest) and, for commands and groups, what was asked.
std::string auditDetail(Route::Kind kind, const std::string &answerBody, const HttpRequest &request)
{
    const auto answer = QJsonDocument::fromJson(QByteArray::fromStdString(answerBody)).object();
    const auto asked = QJsonDocument::fromJson(QByteArray::fromStdString(request.body)).object();
    QString detail;
    switch (kind) {
    case Route::Kind::ApiMediaPut:
        detail = QString("%1 bytes, sha256 %2").arg(answer.value("bytes").toInteger()).arg(answer.value("sha256").toString().left(12));
        break;
    case Route::Kind::ApiCommandsPost:
        detail = QString("%1, ").arg(asked.value("type").toString());
        break;
    case Route::Kind::ApiDeviceGroup:
        detail = QString("group %1, ").arg(asked.value("group").isNull() ? QString("none") : asked.value("group").toString());
        break;
    default:
        break;
    }
    if (answer.contains("version"))
        detail += QString("version %1").arg(answer.value("version").toInteger());
    if (detail.endsWith(", "))
        detail.chop(2);
    return detail.toStdString();
}

} // namespace

HttpResponse publishedContent(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    switch (route.kind) {
    case Route::Kind::ApiMediaList: {
        auto list = impl.publisher->media();
        if (!list)
            return publishError(list.error());
        QJsonArray out;
        // Where each is used, so the console can say why a delete would be
        // refused before it is tried.
        const auto uses = impl.publisher->mediaUses();
        for (const auto &m : *list) {
            QJsonArray usedBy;
            if (const auto it = uses.find(m.name); it != uses.end())
                for (const auto &u : it->second)
                    usedBy.append(QJsonObject{{"schedule", QString::fromStdString(u.target)},
                                              {"playlist", QString::fromStdString(u.playlist)}});
            const auto type = publish::mediaTypeForFile(QString::fromStdString(m.name));
            out.append(QJsonObject{{"name", QString::fromStdString(m.name)},
                                   {"sha256", QString::fromStdString(m.sha256.hex())},
                                   {"bytes", static_cast<qint64>(m.bytes)},
                                   {"type", type ? type->mime : QString()},
                                   {"kind", !type ? QString() : type->kind == publish::MediaKind::Video ? "video" : "image"},
                                   {"used_by", usedBy}});
        }
        return jsonOf(200, out);
    }
    case Route::Kind::ApiScheduleGet: {
        const auto text = impl.publisher->schedule(route.name);
        if (!text)
            return errorJson(404, "no schedule for " + route.name);
        if (const auto f = request.query.find("format"); f != request.query.end() && f->second == "json")
            return scheduleAsJson(*text, route.name);
        HttpResponse r;
        r.contentType = "text/plain; charset=utf-8";
        r.body = *text;
        return r;
    }
    case Route::Kind::ApiCommandsGet: {
        QJsonArray out;
        for (const auto &c : impl.publisher->commands(route.deviceId))
            out.append(QJsonObject{{"id", QString::fromStdString(c.id)},
                                   {"type", QString::fromStdString(c.type)},
                                   {"created_at", QString::fromStdString(rfc3339(c.createdAtMs))}});
        return jsonOf(200, out);
    }
    case Route::Kind::ApiSigningKey: {
        const auto &key = impl.publisher->signingKey();
        return jsonOf(200, QJsonObject{{"keyid", QString::fromStdString(key.keyId())},
                                       {"public_key_pem", QString::fromLatin1(key.toPem())}});
    }
    default:
        return errorJson(404, "no such route: " + request.path);
    }
}

void Hub::Impl::publishing(HttpRequest request, const Route &route, const Principal &who, Answer answer)
{
    const bool admin = who.op.role == Role::Admin;
    const bool editor = admin || who.op.role == Role::Editor;
    if (route.kind == Route::Kind::ApiKeysPut ? !admin : !editor) {
        answer.send(errorJson(403, route.kind == Route::Kind::ApiKeysPut ? "only an admin may replace the keys document"
                                                                         : "only an editor or admin may change content"));
        return;
    }
    auto shared = std::make_shared<Answer>(std::move(answer));
    auto req = std::make_shared<HttpRequest>(std::move(request));
    const std::string who_ = who.op.name;
    const bool queued = post([this, shared, req, route, who_] {
        HttpResponse r;
        switch (route.kind) {
        case Route::Kind::ApiMediaPut: {
            auto put = publisher->putMedia(route.name, req->body);
            r = put ? jsonOf(200, QJsonObject{{"name", QString::fromStdString(put->name)},
                                              {"sha256", QString::fromStdString(put->sha256.hex())},
                                              {"bytes", static_cast<qint64>(put->bytes)}})
                    : publishError(put.error());
            break;
        }
        case Route::Kind::ApiSchedulePut: {
            if (route.name.starts_with("devices/") && !storage->deviceExists(route.name.substr(8)).value_or(false)) {
                r = errorJson(404, "no device " + route.name.substr(8));
                break;
            }
            auto p = publisher->putSchedule(route.name, req->body);
            r = p ? jsonOf(200, publicationJson(*p)) : publishError(p.error());
            break;
        }
        case Route::Kind::ApiLayoutPut:
        case Route::Kind::ApiLayoutDelete:
        case Route::Kind::ApiPlaylistDelete: {
            if (route.name.starts_with("devices/") && !storage->deviceExists(route.name.substr(8)).value_or(false)) {
                r = errorJson(404, "no device " + route.name.substr(8));
                break;
            }
            // One section of the stored text changed; putSchedule checks the
            // whole text (the §12 rules) and publishes it, or changes nothing.
            auto text = editedSchedule(*this, *req, route);
            if (!text) {
                r = text.error();
                break;
            }
            auto p = publisher->putSchedule(route.name, *text);
            r = p ? jsonOf(200, publicationJson(*p)) : publishError(p.error());
            break;
        }
        case Route::Kind::ApiScheduleDelete: {
            auto p = publisher->removeSchedule(route.name);
            r = p ? jsonOf(200, publicationJson(*p)) : publishError(p.error());
            break;
        }
        case Route::Kind::ApiCommandsPost: {
            if (!storage->deviceExists(route.deviceId).value_or(false)) {
                r = errorJson(404, "no device " + route.deviceId);
                break;
            }
            const auto type = QJsonDocument::fromJson(QByteArray::fromStdString(req->body)).object().value("type").toString();
            auto c = publisher->addCommand(route.deviceId, type.toStdString());
            if (c) {
                QJsonObject o = publicationJson(c->second);
                o.insert("id", QString::fromStdString(c->first.id));
                o.insert("type", QString::fromStdString(c->first.type));
                r = jsonOf(202, o);
            } else {
                r = publishError(c.error());
            }
            break;
        }
        case Route::Kind::ApiDeviceGroup: {
            // {"group": "NAME"} or {"group": null}; the device's manifests follow.
            const auto body = QJsonDocument::fromJson(QByteArray::fromStdString(req->body)).object();
            const auto value = body.value("group");
            std::optional<std::string> group;
            if (value.isString() && schedule::isDeviceId(value.toString().toStdString()))
                group = value.toString().toStdString();
            else if (!value.isNull()) {
                r = errorJson(400, "\"group\" must be a name of 1-64 characters of [A-Za-z0-9._-], or null");
                break;
            }
            if (auto set = storage->setDeviceGroup(route.deviceId, group); !set) {
                r = set.error().code == StorageError::Code::NotFound ? errorJson(404, set.error().message)
                                                                     : errorJson(503, set.error().message);
                break;
            }
            auto p = publisher->republish();
            r = p ? jsonOf(200, publicationJson(*p)) : publishError(p.error());
            break;
        }
        case Route::Kind::ApiMediaDelete: {
            if (!publisher->mediaFile(route.name)) {
                r = errorJson(404, "no medium " + route.name);
                break;
            }
            // In use: 409, the message says by which schedules' playlists.
            auto removed = publisher->removeMedia(route.name);
            if (removed) {
                r.status = 204;
                r.contentType.clear();
            } else {
                r = removed.error().kind == publish::ErrorKind::Invalid ? errorJson(409, removed.error().message.toStdString())
                                                                         : publishError(removed.error());
            }
            break;
        }
        case Route::Kind::ApiKeysPut: {
            auto v = publisher->putKeysDocument(req->body);
            r = v ? jsonOf(200, QJsonObject{{"version", static_cast<qint64>(*v)}}) : publishError(v.error());
            break;
        }
        default:
            r = errorJson(404, "no such route");
        }
        if (r.status < 300) {
            qCInfo(lcHub).noquote() << "operator" << who_.c_str() << ":" << req->method.c_str() << req->path.c_str() << "->"
                                    << r.status;
            const std::string part = route.part.empty() ? std::string()
                                     : (route.kind == Route::Kind::ApiPlaylistDelete ? "/playlists/" : "/layouts/") + route.part;
            recordAudit(*this, who_, auditAction(route.kind), (route.name.empty() ? route.deviceId : route.name) + part,
                        auditDetail(route.kind, r.body, *req));
            wake.notify();
        } else {
            qCWarning(lcHub).noquote() << "operator" << who_.c_str() << ":" << req->method.c_str() << req->path.c_str()
                                       << "refused:" << r.status << r.body.c_str();
        }
        shared->send(std::move(r));
    });
    if (!queued) {
        auto busy = errorJson(503, "publishing is busy; try again");
        busy.headers.emplace_back("Retry-After", "5");
        shared->send(std::move(busy));
    }
}

} // namespace stoa::hub
