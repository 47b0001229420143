// hub/upload_api.cpp — the resumable upload routes (docs/hub-api.md,
// "Uploads"): create an upload, send chunks at its offset, ask the offset,
// cancel, complete. Chunks are written on the HTTP thread (each is bounded
// by UploadLimits::chunkBytes, like any other request body); completion —
// hashing the whole file and moving it into the library — runs on the
// hub's worker, never on an HTTP thread.
// Invariants: only editors and admins upload; a completed upload is in the
// library exactly when its size is the declared one and its SHA-256 the one
// the client gave (when it gave one); a refused completion registers
// nothing; every refusal says why (and, where the client should resume,
// from which offset).
#include "hub/hub_impl.h"
#include "hub/logging.h"
#include "publish/media_type.h"
#include "publish/site.h"
#include "schedule/digest.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace stoa::hub {
namespace {

HttpResponse refusal(const UploadError &e)
{
    QJsonObject o{{"error", QString::fromStdString(e.message)}};
    if (e.offset)
        o.insert("offset", static_cast<qint64>(*e.offset));
    return jsonOf(e.status, o);
}

QJsonObject sessionJson(const UploadSession &s, const UploadLimits &limits)
{
    return QJsonObject{{"id", QString::fromStdString(s.id)},
                       {"name", QString::fromStdString(s.name)},
                       {"size", static_cast<qint64>(s.size)},
                       {"offset", static_cast<qint64>(s.offset)},
                       {"chunk_max", static_cast<qint64>(limits.chunkBytes)},
                       {"expires_at", QString::fromStdString(rfc3339(s.touchedMs + limits.idleMs))}};
}

} // namespace

void Hub::Impl::upload(HttpRequest request, const Route &route, const Principal &who, Answer answer)
{
    if (who.op.role == Role::Viewer) {
        answer.send(errorJson(403, "only an editor or admin may upload media"));
        return;
    }
    const std::string &owner = who.op.name;
    switch (route.kind) {
    case Route::Kind::ApiUploadCreate: {
        const auto body = QJsonDocument::fromJson(QByteArray::fromStdString(request.body)).object();
        const std::string name = body.value("name").toString().toStdString();
        if (!Publisher::validMediaName(name)) {
            answer.send(errorJson(400, "\"name\" must be 1-128 characters of [A-Za-z0-9._-], not starting with '.'"));
            return;
        }
        if (!publish::mediaTypeForFile(QString::fromStdString(name))) {
            answer.send(errorJson(400, name + " is not a supported media type (known: "
                                           + publish::knownMediaExtensions().toStdString() + ")"));
            return;
        }
        const QJsonValue size = body.value("size");
        if (!size.isDouble() || size.toDouble() < 1 || size.toDouble() != static_cast<double>(size.toInteger())) {
            answer.send(errorJson(400, "\"size\" must be the file's size in bytes, a whole number of at least 1"));
            return;
        }
        auto s = uploads.create(name, static_cast<std::uint64_t>(size.toInteger()), body.value("type").toString().left(128).toStdString(),
                                owner, nowMs());
        if (!s) {
            qCWarning(lcHub).noquote() << "uploads:" << owner.c_str() << "cannot upload" << name.c_str() << ":" << s.error().message.c_str();
            answer.send(refusal(s.error()));
            return;
        }
        qCInfo(lcHub).noquote() << "uploads:" << owner.c_str() << "started" << s->id.c_str() << "(" << name.c_str() << ","
                                << s->size << "bytes)";
        answer.send(jsonOf(201, sessionJson(*s, uploads.limits())));
        return;
    }
    case Route::Kind::ApiUploadGet: {
        auto s = uploads.get(route.name, owner);
        answer.send(s ? jsonOf(200, sessionJson(*s, uploads.limits())) : refusal(s.error()));
        return;
    }
    case Route::Kind::ApiUploadDelete: {
        auto r = uploads.cancel(route.name, owner);
        if (!r) {
            answer.send(refusal(r.error()));
            return;
        }
        HttpResponse none;
        none.status = 204;
        none.contentType.clear();
        answer.send(std::move(none));
        return;
    }
    case Route::Kind::ApiUploadChunk: {
        const auto at = request.query.find("offset");
        bool ok = false;
        const qulonglong offset = at == request.query.end() ? 0 : QString::fromStdString(at->second).toULongLong(&ok);
        if (!ok) {
            answer.send(errorJson(400, "?offset=N is required: the byte of the file this chunk starts at"));
            return;
        }
        auto s = uploads.write(route.name, owner, offset, request.body);
        answer.send(s ? jsonOf(200, sessionJson(*s, uploads.limits())) : refusal(s.error()));
        return;
    }
    case Route::Kind::ApiUploadComplete: {
        const auto body = QJsonDocument::fromJson(QByteArray::fromStdString(request.body)).object();
        const std::string declared = body.value("sha256").toString().toStdString();
        const auto expected = schedule::Digest::fromHex(declared);
        if (!declared.empty() && !expected) {
            answer.send(errorJson(400, "\"sha256\" must be 64 lowercase hex characters (or absent)"));
            return;
        }
        // Checked here too, so a client missing bytes hears it at once
        // with its offset, not after the worker's queue.
        auto s = uploads.get(route.name, owner);
        if (!s || s->offset != s->size) {
            answer.send(refusal(s ? UploadError{409, "the upload holds " + std::to_string(s->offset) + " of its "
                                                         + std::to_string(s->size) + " bytes: send the rest first", s->offset}
                                  : s.error()));
            return;
        }
        auto shared = std::make_shared<Answer>(std::move(answer));
        const std::string id = route.name;
        const bool queued = post([this, shared, id, owner, expected] {
            auto held = uploads.hold(id, owner);
            if (!held) {
                shared->send(refusal(held.error()));
                return;
            }
            const std::string name = held->session.name;
            auto digest = publish::digestFile(QString::fromStdString(held->partFile));
            HttpResponse r;
            if (!digest) {
                r = errorJson(500, "cannot read the upload: " + digest.error().message.toStdString());
            } else if (expected && digest->sha256 != *expected) {
                r = errorJson(400, "the upload's SHA-256 is " + digest->sha256.hex() + ", not " + expected->hex()
                                       + " as declared: the bytes differ from the file; upload it again");
            } else {
                auto put = publisher->adoptMedia(name, held->partFile, *digest);
                r = put ? jsonOf(200, QJsonObject{{"name", QString::fromStdString(put->name)},
                                                  {"sha256", QString::fromStdString(put->sha256.hex())},
                                                  {"bytes", static_cast<qint64>(put->bytes)}})
                        : errorJson(put.error().kind == publish::ErrorKind::Io ? 500 : 400, put.error().message.toStdString());
            }
            uploads.release(*held); // done or refused: either way the partial goes
            if (r.status == 200) {
                qCInfo(lcHub).noquote() << "uploads:" << owner.c_str() << "finished" << id.c_str() << "->" << name.c_str()
                                        << "(" << digest->size << "bytes, sha256" << digest->sha256.hex().substr(0, 12).c_str() << ")";
                const auto type = publish::mediaTypeForFile(QString::fromStdString(name));
                if (type && type->kind == publish::MediaKind::Video)
                    if (const auto file = publisher->mediaFile(name))
                        thumbnails.request(digest->sha256.hex(), *file); // ready by the time the console asks, usually
                recordAudit(*this, owner, "media.upload", name,
                            std::to_string(digest->size) + " bytes, sha256 " + digest->sha256.hex().substr(0, 12));
                wake.notify();
            } else {
                qCWarning(lcHub).noquote() << "uploads:" << owner.c_str() << ":" << id.c_str() << "(" << name.c_str()
                                           << ") refused:" << r.status << r.body.c_str();
            }
            shared->send(std::move(r));
        });
        if (!queued) {
            auto busy = errorJson(503, "publishing is busy; try completing again");
            busy.headers.emplace_back("Retry-After", "5");
            shared->send(std::move(busy));
        }
        return;
    }
    default:
        answer.send(errorJson(404, "no such route: " + request.path));
        return;
    }
}

} // namespace stoa::hub
