// hub/content_api.cpp — the content routes' dispatch (contentReport(); the
// files by concern are listed in content_api.h), the helpers they share,
// the routes that answer a medium's bytes and a video's thumbnail (by file
// descriptor, with an ETag) and the publication's version (the adoption
// bar), and recordAudit().
#include "hub/content_api.h"
#include "hub/logging.h"
#include "publish/media_type.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stoa::hub {
namespace content {

std::string param(const HttpRequest &request, const char *name)
{
    const auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
}

const char *weekdayName(schedule::Weekday d)
{
    static const char *const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    return names[static_cast<int>(d) - 1];
}


HttpResponse invalidSchedule(const publish::Error &e) { return errorJson(400, e.message.toStdString()); }

std::optional<std::string> effectiveTarget(const std::string &device, const std::optional<std::string> &group,
                                           const std::set<std::string> &schedules)
{
    if (schedules.count("devices/" + device))
        return "devices/" + device;
    if (group && schedules.count("groups/" + *group))
        return "groups/" + *group;
    if (schedules.count("fleet"))
        return std::string("fleet");
    return std::nullopt;
}

} // namespace content

using namespace content;

namespace {

HttpResponse mediaBytes(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    const auto file = impl.publisher->mediaFile(route.name);
    if (!file)
        return errorJson(404, "no medium " + route.name);
    const int fd = ::open(file->c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0)
            ::close(fd);
        return errorJson(404, "no medium " + route.name);
    }
    // Size and mtime: a new upload under the same name changes both (the
    // file is replaced by rename), without hashing the file per request.
    const std::string etag = "\"" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) + "."
                             + std::to_string(st.st_mtim.tv_nsec) + "\"";
    HttpResponse r;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", "private, no-cache");
    if (const auto inm = request.headers.find("if-none-match"); inm != request.headers.end() && inm->second == etag) {
        ::close(fd);
        r.status = 304;
        r.contentType.clear();
        return r;
    }
    const auto type = publish::mediaTypeForFile(q(route.name));
    r.contentType = type ? type->mime.toStdString() : "application/octet-stream";
    r.fd = fd;
    r.fileLength = static_cast<std::uint64_t>(st.st_size);
    return r;
}

// A video's thumbnail (thumbnails.h): 200 the JPEG, 202 while it is being
// made, 404 for an image (its own bytes are its thumbnail) or a video the
// hub cannot decode (the reason; the console keeps its icon).
HttpResponse mediaThumbnail(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    const auto file = impl.publisher->mediaFile(route.name);
    if (!file)
        return errorJson(404, "no medium " + route.name);
    const auto type = publish::mediaTypeForFile(q(route.name));
    if (!type || type->kind != publish::MediaKind::Video)
        return errorJson(404, route.name + " is an image: it is its own thumbnail (GET /api/v1/media/" + route.name + ")");
    const auto digest = impl.publisher->digestSource()(q(*file)); // stored at upload: no re-read
    if (!digest)
        return errorJson(404, "no medium " + route.name);
    const auto t = impl.thumbnails.get(digest->sha256.hex(), *file);
    if (t.state == Thumbnails::State::Pending) {
        auto r = jsonOf(202, QJsonObject{{"state", "pending"}});
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (t.state == Thumbnails::State::Failed) {
        auto r = jsonOf(404, QJsonObject{{"error", q("the hub cannot make a thumbnail of " + route.name + ": " + t.reason)},
                                         {"state", "failed"}});
        return r;
    }
    const std::string etag = "\"" + digest->sha256.hex() + "\"";
    HttpResponse r;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", "private, no-cache");
    if (const auto inm = request.headers.find("if-none-match"); inm != request.headers.end() && inm->second == etag) {
        r.status = 304;
        r.contentType.clear();
        return r;
    }
    const int fd = ::open(t.file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0)
            ::close(fd);
        return errorJson(404, "no thumbnail of " + route.name);
    }
    r.contentType = "image/jpeg";
    r.fd = fd;
    r.fileLength = static_cast<std::uint64_t>(st.st_size);
    return r;
}

} // namespace

HttpResponse contentReport(Hub::Impl &impl, const HttpRequest &request, const Route &route, const Principal &who)
{
    switch (route.kind) {
    case Route::Kind::ApiMediaGet: return mediaBytes(impl, request, route);
    case Route::Kind::ApiMediaThumbnail: return mediaThumbnail(impl, request, route);
    case Route::Kind::ApiSchedulePreview: return schedulePreview(impl, request, route, who);
    case Route::Kind::ApiScheduleWeek: return scheduleWeek(impl, request, route);
    case Route::Kind::ApiPublication:
        return jsonOf(200, QJsonObject{{"version", static_cast<qint64>(impl.publisher->currentVersion())}});
    case Route::Kind::ApiPlaysReport: return playsReport(impl, request);
    case Route::Kind::ApiAudit: return auditLog(impl, request);
    default: return errorJson(404, "no such route: " + request.path);
    }
}

void recordAudit(Hub::Impl &impl, const std::string &who, const std::string &action, const std::string &target,
                 const std::string &detail)
{
    if (auto r = impl.storage->addAudit({0, Hub::Impl::nowMs(), who, action, target, detail}); !r)
        qCWarning(lcHub).noquote() << "audit log: cannot record" << action.c_str() << target.c_str() << "by" << who.c_str()
                                   << ":" << r.error().message.c_str();
}

} // namespace stoa::hub
