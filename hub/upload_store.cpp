// hub/upload_store.cpp — unfinished uploads on disk (upload_store.h).
#include "hub/upload_store.h"

#include "hub/logging.h"
#include "publish/site.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stoa::hub {
namespace {

// Free space beyond an upload's size, so one upload cannot fill the disk
// the database and the site live on.
constexpr std::uint64_t kDiskMargin = std::uint64_t{256} << 20;

std::string hex16()
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 4; ++i) {
        quint32 v = QRandomGenerator::system()->generate();
        for (int j = 0; j < 8; ++j, v >>= 4)
            out += digits[v & 15];
    }
    return out;
}

UploadError notFound(const std::string &id) { return {404, "no upload " + id + " (finished, cancelled, expired, or not yours)", {}}; }

// The part file's size and mtime (ms); nullopt when it is gone.
std::optional<std::pair<std::uint64_t, std::int64_t>> partStat(const std::string &file)
{
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0)
        return std::nullopt;
    return std::pair{static_cast<std::uint64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000};
}

} // namespace

std::optional<DiskRoom> diskRoom(const std::string &dir)
{
    struct statvfs vfs{};
    if (::statvfs(dir.c_str(), &vfs) != 0)
        return std::nullopt;
    return DiskRoom{static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize, (vfs.f_flag & ST_RDONLY) != 0};
}

bool isUploadId(std::string_view id)
{
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

UploadStore::UploadStore(std::string dir, UploadLimits limits) : dir_(std::move(dir)), limits_(limits)
{
    if (!QDir().mkpath(QString::fromStdString(dir_)))
        qCWarning(lcHub).noquote() << "uploads: cannot create" << dir_.c_str() << "(uploads will fail)";
}

std::string UploadStore::path(const std::string &id, const char *ext) const { return dir_ + "/" + id + ext; }

void UploadStore::remove(const std::string &id) const
{
    ::unlink(path(id, ".part").c_str());
    ::unlink(path(id, ".json").c_str());
}

std::optional<UploadSession> UploadStore::load(const std::string &id) const
{
    if (!isUploadId(id))
        return std::nullopt;
    QFile f(QString::fromStdString(path(id, ".json")));
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const auto o = QJsonDocument::fromJson(f.read(64 * 1024)).object();
    const auto part = partStat(path(id, ".part"));
    if (o.isEmpty() || !part)
        return std::nullopt;
    UploadSession s;
    s.id = id;
    s.name = o.value("name").toString().toStdString();
    s.type = o.value("type").toString().toStdString();
    s.owner = o.value("owner").toString().toStdString();
    s.size = static_cast<std::uint64_t>(o.value("size").toInteger());
    s.createdMs = o.value("created_ms").toInteger();
    s.offset = part->first;
    s.touchedMs = part->second;
    return s;
}

std::expected<UploadSession, UploadError> UploadStore::create(const std::string &name, std::uint64_t size,
                                                              const std::string &type, const std::string &owner,
                                                              std::int64_t nowMs)
{
    if (size == 0)
        return std::unexpected(UploadError{400, "\"size\" must be the file's size in bytes, at least 1", {}});
    if (size > limits_.maxBytes)
        return std::unexpected(UploadError{413, name + " is " + std::to_string(size) + " bytes: over the hub's limit of "
                                                    + std::to_string(limits_.maxBytes) + " bytes for one medium", {}});
    std::lock_guard lock(createMutex_);
    sweep(nowMs);
    std::uint64_t reserved = 0;
    int open = 0;
    for (const QString &f : QDir(QString::fromStdString(dir_)).entryList({"*.json"}, QDir::Files)) {
        if (const auto s = load(f.chopped(5).toStdString())) {
            reserved += s->size;
            ++open;
        }
    }
    if (open >= limits_.maxSessions || reserved + size > limits_.quotaBytes)
        return std::unexpected(UploadError{507, "too many unfinished uploads (" + std::to_string(open) + ", "
                                                    + std::to_string(reserved) + " bytes reserved of "
                                                    + std::to_string(limits_.quotaBytes)
                                                    + "): finish or cancel some, or wait for them to expire", {}});
    if (const auto room = diskRoom(dir_); room && room->freeBytes < size + kDiskMargin)
        return std::unexpected(UploadError{507, "the hub's disk has no room for " + std::to_string(size) + " more bytes", {}});

    UploadSession s{hex16(), name, type, owner, size, 0, nowMs, nowMs};
    const int fd = ::open(path(s.id, ".part").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return std::unexpected(UploadError{500, "cannot create the upload's file: " + std::string(std::strerror(errno)), {}});
    ::close(fd);
    const QByteArray record = QJsonDocument(QJsonObject{{"name", QString::fromStdString(name)},
                                                        {"type", QString::fromStdString(type)},
                                                        {"owner", QString::fromStdString(owner)},
                                                        {"size", static_cast<qint64>(size)},
                                                        {"created_ms", static_cast<qint64>(nowMs)}})
                                  .toJson(QJsonDocument::Compact);
    if (auto w = publish::writeFileAtomically(QString::fromStdString(path(s.id, ".json")), record); !w) {
        remove(s.id);
        return std::unexpected(UploadError{500, "cannot record the upload: " + w.error().message.toStdString(), {}});
    }
    return s;
}

std::expected<UploadSession, UploadError> UploadStore::get(const std::string &id, const std::string &owner) const
{
    auto s = load(id);
    if (!s || s->owner != owner)
        return std::unexpected(notFound(id));
    return *s;
}

std::expected<UploadSession, UploadError> UploadStore::write(const std::string &id, const std::string &owner,
                                                             std::uint64_t offset, std::string_view bytes)
{
    auto s = load(id);
    if (!s || s->owner != owner)
        return std::unexpected(notFound(id));
    if (bytes.empty())
        return std::unexpected(UploadError{400, "an empty chunk", s->offset});
    const int fd = ::open(path(id, ".part").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return std::unexpected(notFound(id)); // finished or removed since load()
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); } // also drops the lock
    } closer{fd};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        return std::unexpected(UploadError{409, "another chunk of this upload is being written (or it is being finished)", {}});
    struct stat st{};
    if (::fstat(fd, &st) != 0 || st.st_nlink == 0)
        return std::unexpected(notFound(id)); // moved into the library while we waited
    const auto held = static_cast<std::uint64_t>(st.st_size);
    if (offset != held)
        return std::unexpected(UploadError{409, "the upload holds " + std::to_string(held) + " bytes: send from offset "
                                                    + std::to_string(held) + ", not " + std::to_string(offset), held});
    if (offset + bytes.size() > s->size)
        return std::unexpected(UploadError{400, "the chunk ends at byte " + std::to_string(offset + bytes.size())
                                                    + ", past the upload's declared size of " + std::to_string(s->size), held});
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const std::string why = std::strerror(n < 0 ? errno : EIO);
            // Back to the offset the client was told: a chunk is whole or absent.
            if (::ftruncate(fd, static_cast<off_t>(offset)) != 0)
                qCWarning(lcHub).noquote() << "uploads: cannot truncate" << id.c_str() << "back to" << offset;
            qCWarning(lcHub).noquote() << "uploads:" << id.c_str() << "(" << s->name.c_str() << "): write failed:" << why.c_str();
            return std::unexpected(UploadError{507, "the hub cannot store the chunk: " + why, offset});
        }
        done += static_cast<std::size_t>(n);
    }
    s->offset = offset + bytes.size();
    return *s;
}

std::expected<void, UploadError> UploadStore::cancel(const std::string &id, const std::string &owner)
{
    auto s = load(id);
    if (!s || s->owner != owner)
        return std::unexpected(notFound(id));
    remove(id);
    return {};
}

std::expected<UploadStore::Held, UploadError> UploadStore::hold(const std::string &id, const std::string &owner)
{
    auto s = load(id);
    if (!s || s->owner != owner)
        return std::unexpected(notFound(id));
    const std::string part = path(id, ".part");
    const int fd = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::unexpected(notFound(id));
    // Blocking: a chunk being written finishes first (it is bounded).
    ::flock(fd, LOCK_EX);
    struct stat st{};
    if (::fstat(fd, &st) != 0 || st.st_nlink == 0) {
        ::close(fd);
        return std::unexpected(notFound(id)); // another completion took it
    }
    s->offset = static_cast<std::uint64_t>(st.st_size);
    if (s->offset != s->size) {
        ::close(fd);
        return std::unexpected(UploadError{409, "the upload holds " + std::to_string(s->offset) + " of its "
                                                    + std::to_string(s->size) + " bytes: send the rest first", s->offset});
    }
    return Held{*s, part, fd};
}

void UploadStore::release(Held &held)
{
    remove(held.session.id);
    if (held.lockFd >= 0)
        ::close(held.lockFd);
    held.lockFd = -1;
}

int UploadStore::sweep(std::int64_t nowMs)
{
    int removed = 0;
    const QDir dir(QString::fromStdString(dir_));
    for (const QString &f : dir.entryList({"*.json", "*.part"}, QDir::Files)) {
        const std::string id = f.section('.', 0, 0).toStdString();
        if (!isUploadId(id))
            continue;
        const auto part = partStat(path(id, ".part"));
        // A record without bytes (or bytes without a record) is a crash's
        // leftover: it goes by the record's or the part's own age.
        const auto record = partStat(path(id, ".json"));
        const std::int64_t touched = part ? part->second : record ? record->second : nowMs;
        if (nowMs - touched <= limits_.idleMs)
            continue;
        if (const auto s = load(id))
            qCInfo(lcHub).noquote() << "uploads: removed" << id.c_str() << "(" << s->name.c_str() << "," << s->offset << "of"
                                    << s->size << "bytes, by" << s->owner.c_str() << "): no chunk for"
                                    << (nowMs - touched) / 1000 << "s";
        remove(id);
        ++removed;
    }
    return removed;
}

} // namespace stoa::hub
