#include "cache/scrub.h"

#include "cache/durable.h"
#include "cache/kv.h"
#include "cache/logging.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace stoa::cache {

Result<std::unique_ptr<Scrubber>> Scrubber::open(const std::filesystem::path &dataDir, Options options)
{
    auto db = Database::open(dataDir / "state.db");
    if (!db)
        return std::unexpected(db.error());
    return std::unique_ptr<Scrubber>(new Scrubber(dataDir, options, std::move(*db)));
}

Scrubber::Scrubber(std::filesystem::path dataDir, Options options, Database db)
    : m_options(options), m_db(std::move(db)), m_blobs(std::move(dataDir), m_db)
{
}

Scrubber::~Scrubber() { stop(); }

void Scrubber::start()
{
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable())
        return;
    m_paceStart = std::chrono::steady_clock::now();
    m_paceBytes = 0;
    m_thread = std::jthread([this](std::stop_token st) { run(st); });
}

void Scrubber::stop()
{
    std::jthread t;
    {
        std::lock_guard lock(m_mutex);
        t = std::move(m_thread);
    }
    if (t.joinable()) {
        t.request_stop();
        m_wake.notify_all();
        t.join();
    }
}

bool Scrubber::waitFor(std::chrono::steady_clock::duration d)
{
    if (!m_stop.stop_possible())
        return true; // called synchronously, not from the thread: no pacing
    std::unique_lock lock(m_mutex);
    return !m_wake.wait_for(lock, m_stop, d, [&] { return m_stop.stop_requested(); });
}

Result<bool> Scrubber::hashMatches(const schedule::Digest &digest, const std::filesystem::path &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return false;
        return std::unexpected(osError("open " + path.string(), errno));
    }
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    schedule::Sha256 hash;
    std::vector<std::byte> buf(256 * 1024);
    bool stopped = false;
    auto read = readChunks(fd.get(), buf, [&](std::span<const std::byte> c) {
        hash.update(c);
        m_bytes += c.size();
        // Pace to bytesPerSecond: wait until the bytes so far are "due".
        m_paceBytes += c.size();
        if (m_options.bytesPerSecond > 0) {
            const auto due = m_paceStart + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(double(m_paceBytes) /
                                                                             double(m_options.bytesPerSecond)));
            const auto now = std::chrono::steady_clock::now();
            stopped = due > now && !waitFor(due - now);
        }
        return !stopped;
    }, path.string());
    if (stopped)
        return std::unexpected(Error{ErrorCode::Busy, "scrub stopped"});
    if (!read) {
        // An unreadable sector is as bad as a wrong byte.
        qCWarning(lcCache, "scrub: %s", read.error().message.c_str());
        return false;
    }
    // Do not let the scrub push playback's working set out of the page cache.
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
    return hash.finish() == digest;
}

Result<std::optional<ScrubOutcome>> Scrubber::scrubNext()
{
    auto next = m_db.queryText("SELECT hex FROM blobs ORDER BY verify_seq IS NOT NULL, verify_seq, hex LIMIT 1");
    if (!next)
        return std::unexpected(next.error());
    if (!*next)
        return std::optional<ScrubOutcome>();
    const auto digest = schedule::Digest::fromHex(**next);
    if (!digest) {
        // Only BlobStore::index() writes rows, from a Digest: a damaged
        // state.db. The row names no file we could check; drop it and go on.
        qCCritical(lcCache, "scrub: blob row \"%s\" is not a SHA-256 name: dropped", (*next)->c_str());
        auto del = m_db.prepare("DELETE FROM blobs WHERE hex = ?");
        if (!del)
            return std::unexpected(del.error());
        if (auto ok = del->bind(1, **next).run(); !ok)
            return std::unexpected(ok.error());
        return scrubNext();
    }

    auto matches = hashMatches(*digest, m_blobs.pathFor(*digest));
    if (!matches)
        return std::unexpected(matches.error());
    ++m_checked;
    if (*matches) {
        auto upd = m_db.prepare(
            "UPDATE blobs SET verify_seq = (SELECT COALESCE(MAX(verify_seq), 0) + 1 FROM blobs) WHERE hex = ?");
        if (!upd)
            return std::unexpected(upd.error());
        if (auto ok = upd->bind(1, digest->hex()).run(); !ok)
            return std::unexpected(ok.error());
        return std::optional(ScrubOutcome{*digest, true});
    }
    ++m_failures;
    qCCritical(lcCache, "scrub: blob %s does not match its hash any more: removed, it will be fetched again",
               digest->hex().c_str());
    if (auto ok = m_blobs.remove(*digest); !ok)
        return std::unexpected(ok.error());
    if (auto ok = KeyValue(m_db).add("scrub_failures", 1); !ok)
        return std::unexpected(ok.error());
    return std::optional(ScrubOutcome{*digest, false});
}

void Scrubber::run(std::stop_token stop)
{
    m_stop = stop;
    std::uint64_t sincePassStart = 0;
    while (!stop.stop_requested()) {
        auto count = m_blobs.indexedCount();
        auto next = scrubNext();
        if (!next) {
            if (next.error().code != ErrorCode::Busy)
                qCWarning(lcCache, "scrub: %s", next.error().message.c_str());
            if (!waitFor(std::chrono::seconds(30)))
                return;
            continue;
        }
        ++sincePassStart;
        // A full pass done (or nothing to do): rest before the next one.
        if (!*next || (count && sincePassStart >= *count)) {
            sincePassStart = 0;
            if (!waitFor(m_options.idleWait))
                return;
            m_paceStart = std::chrono::steady_clock::now();
            m_paceBytes = 0;
        }
    }
}

} // namespace stoa::cache
