// hub/upload_store.h — resumable uploads of media (docs/hub-api.md, "Uploads").
//
// Job: keep the unfinished uploads under DATA/uploads: an upload declares
// its medium's name and size, receives chunks at the offset it holds, tells
// that offset to a client that lost a chunk (a cut connection, a restarted
// hub), and once whole hands its file over to be hashed and moved into the
// library (upload_api.cpp, on the hub's worker).
// Layout: uploads/ID.json (name, size, type, owner, created_ms) and
// uploads/ID.part (the bytes so far; its size is the offset, its mtime the
// last chunk's time).
// Invariants:
//  - the part file's size is the only offset: a chunk is written whole at
//    exactly that offset or not at all (a failed write is truncated back),
//    so a resumed upload never holds a hole or a byte twice;
//  - one chunk at a time per upload (an advisory lock on the part file; a
//    second writer is told 409 at once, not queued);
//  - disk use is bounded: at most `maxSessions` unfinished uploads, whose
//    declared sizes together stay within `quotaBytes`, and a new one needs
//    its size free on the disk; an upload without a chunk for `idleMs` is
//    removed (sweep(): at each new upload and by the hub's retention);
//  - an upload is its creator's: another operator's id answers 404, as an
//    unknown one does;
//  - everything is on disk, so a restarted hub resumes the same uploads.
#pragma once

#include <cstdint>
#include <expected>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::hub {

struct UploadLimits {
    std::uint64_t maxBytes = std::uint64_t{8} << 30;    // one medium
    std::uint64_t quotaBytes = std::uint64_t{16} << 30; // every unfinished upload's declared size, together
    std::size_t chunkBytes = std::size_t{16} << 20;     // one chunk request (buffered whole by the HTTP layer)
    std::int64_t idleMs = std::int64_t{24} * 3600 * 1000; // an upload without a chunk this long is removed
    int maxSessions = 64;
};

struct UploadSession {
    std::string id;            // 32 lowercase hex characters
    std::string name;          // the medium's library name
    std::string type;          // the media type the client declared (informative)
    std::string owner;         // the operator who created it
    std::uint64_t size = 0;    // declared
    std::uint64_t offset = 0;  // bytes held
    std::int64_t createdMs = 0;
    std::int64_t touchedMs = 0; // the last chunk (or the creation)
};

// The file system holding `dir`, as statvfs tells it: the hub's one reading
// of it (an upload's room here; the data directory's health check in
// hub.cpp: "read-only", "full"). Not cache::diskSpace: the hub never links
// the devices' cache (tests/arrows). nullopt: statvfs failed (gone, no
// permission).
struct DiskRoom {
    std::uint64_t freeBytes = 0; // available to the hub (f_bavail × f_frsize), not root's reserve
    bool readOnly = false;       // ST_RDONLY
};
std::optional<DiskRoom> diskRoom(const std::string &dir);

// A refusal: the HTTP status and the reason; `offset` when the client
// should resume from there (a wrong offset, an incomplete upload).
struct UploadError {
    int status = 400;
    std::string message;
    std::optional<std::uint64_t> offset;
};

class UploadStore {
public:
    UploadStore(std::string dir, UploadLimits limits); // DATA/uploads, created if missing

    const UploadLimits &limits() const { return limits_; }
    // `name` must already be a valid library name of a playable type.
    std::expected<UploadSession, UploadError> create(const std::string &name, std::uint64_t size, const std::string &type,
                                                     const std::string &owner, std::int64_t nowMs);
    std::expected<UploadSession, UploadError> get(const std::string &id, const std::string &owner) const;
    // Appends `bytes` at `offset`, which must be the offset held.
    std::expected<UploadSession, UploadError> write(const std::string &id, const std::string &owner, std::uint64_t offset,
                                                    std::string_view bytes);
    std::expected<void, UploadError> cancel(const std::string &id, const std::string &owner);

    // A whole upload, locked against chunks until release(): its part file
    // to hash and move. 409 (with the offset) while bytes are missing.
    struct Held {
        UploadSession session;
        std::string partFile;
        int lockFd = -1;
    };
    std::expected<Held, UploadError> hold(const std::string &id, const std::string &owner);
    // Ends a held upload: its record and whatever is left of its part go.
    void release(Held &held);

    // Removes the uploads idle for longer than limits().idleMs; how many.
    int sweep(std::int64_t nowMs);

private:
    std::optional<UploadSession> load(const std::string &id) const;
    std::string path(const std::string &id, const char *ext) const;
    void remove(const std::string &id) const;

    const std::string dir_;
    const UploadLimits limits_;
    std::mutex createMutex_; // the quota check and the new record, together
};

bool isUploadId(std::string_view id);

} // namespace stoa::hub
