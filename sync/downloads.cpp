#include "sync/downloads.h"

#include "cache/blob_writer.h"
#include "sync/documents.h"
#include "sync/logging.h"

#include <QDateTime>

#include <future>

namespace stoa::sync {

namespace {

// What one transfer's sink knows about its blob.
struct Slot {
    explicit Slot(BlobWant w) : want(std::move(w)) {}
    BlobWant want;
    std::optional<cache::BlobWriter> writer;
    bool resumed = false;   // asked for a Range
    bool isFile = false;    // file:// answers a resumed read with the rest, status 200
    bool tooLong = false;   // the body went past the declared size
    std::uint64_t received = 0; // body bytes handed to us, whatever the transfer's outcome
    std::string writeError; // a disk error while writing
    Blocker writeBlocker = Blocker::StoreError; // what writeError means for the manifest
    // The hash check and fsync of a complete blob, on its own thread so that
    // the fsync of a large blob does not stall the transfers still running.
    std::future<cache::Result<void>> sealing;
};

// What a store error met while writing a blob means for its manifest.
Blocker blockerOf(const cache::Error &e)
{
    switch (e.code) {
    case cache::ErrorCode::NoSpace:
    case cache::ErrorCode::DiskFull:
        return Blocker::NoSpace;
    case cache::ErrorCode::HashMismatch:
    case cache::ErrorCode::SizeMismatch: // a body shorter than declared that the server called complete
        return Blocker::BlobCorrupt;
    default:
        return Blocker::StoreError;
    }
}

// A blob's failure in plain words; `why` is the detail (the store's or the
// transfer's own message).
std::string sentence(Blocker b, const schedule::Digest &digest, const std::string &why)
{
    const std::string blob = "blob " + digest.hex().substr(0, 12) + "…";
    switch (b) {
    case Blocker::NoSpace:
        return "No room in the store for " + blob + ": " + why;
    case Blocker::BlobCorrupt:
        return "The bytes served for " + blob + " fail verification (not what the manifest names): " + why;
    case Blocker::BlobTooLarge:
        return "The server sends more for " + blob + " than the manifest declares: " + why;
    case Blocker::BlobUnreachable:
        return "Cannot download " + blob + ": " + why;
    case Blocker::StoreError:
    case Blocker::DownloadWindowClosed: // not a blob's failure; the agent words it
        break;
    }
    return "Cannot write " + blob + " to the store: " + why;
}

} // namespace

const char *blockerCode(Blocker b)
{
    switch (b) {
    case Blocker::NoSpace:
        return "no_space";
    case Blocker::BlobCorrupt:
        return "blob_corrupt";
    case Blocker::BlobTooLarge:
        return "blob_too_large";
    case Blocker::BlobUnreachable:
        return "blob_unreachable";
    case Blocker::StoreError:
        return "store_error";
    case Blocker::DownloadWindowClosed:
        return "download_window_closed";
    }
    return "store_error";
}

void BlobDownloads::failed(const schedule::Digest &digest, SteadyTime now, Blocker blocker, const std::string &why,
                           std::optional<Millis> retryAfter)
{
    // The wait counts from the answer, not from the start of the round: a
    // Retry-After is relative to when it was said, and an answer that came
    // late in a long round must not find its wait already over.
    const SteadyTime answered = std::max(now, std::chrono::steady_clock::now());
    auto it = m_channels.try_emplace(digest, Channel{Pacer(Millis(0), m_policy), answered, blocker, {}, 0}).first;
    const Millis wait = it->second.pacer.afterFailure(m_rng, retryAfter);
    it->second.due = answered + wait;
    if (it->second.sinceMs == 0 || it->second.blocker != blocker)
        it->second.sinceMs = QDateTime::currentMSecsSinceEpoch();
    it->second.blocker = blocker;
    it->second.message = sentence(blocker, digest, why);
    m_lastError = "blob " + digest.hex().substr(0, 12) + "…: " + why;
    qCWarning(lcSync, "%s; retry in %.1f s (failure %d in a row)", m_lastError.c_str(), double(wait.count()) / 1000.0,
              it->second.pacer.backoff().consecutiveFailures());
}

DownloadRound BlobDownloads::run(const std::string &baseUrl, const std::vector<BlobWant> &wanted, int parallel,
                                 SteadyTime now)
{
    DownloadRound round;
    std::vector<Slot> pending;
    pending.reserve(wanted.size());
    for (const auto &w : wanted) {
        auto present = m_store.blobs().contains(w.digest);
        if (present && *present)
            continue;
        if (auto c = m_channels.find(w.digest); c != m_channels.end() && c->second.due > now)
            continue;
        auto writer = cache::BlobWriter::open(m_store.blobs(), m_store.space(), w.digest, w.size);
        if (!writer) {
            // Busy (another process writes this partial) backs off too:
            // skipping it without a due time made the agent spin.
            const bool busy = writer.error().code == cache::ErrorCode::Busy;
            failed(w.digest, now, busy ? Blocker::StoreError : blockerOf(writer.error()),
                   busy ? "its partial is held by another writer" : writer.error().message);
            continue;
        }
        if (writer->offset() == w.size) {
            // Whole already (a crash between the last byte and the commit):
            // asking for "bytes=SIZE-" would only earn a 416 and a refetch.
            if (auto committed = writer->commit(); committed) {
                ++round.completed;
                m_channels.erase(w.digest);
            } else {
                failed(w.digest, now, blockerOf(committed.error()), committed.error().message); // commit() deleted the bad partial
            }
            continue;
        }
        Slot s(w);
        s.resumed = writer->offset() > 0;
        s.isFile = baseUrl.rfind("file://", 0) == 0;
        s.writer.emplace(std::move(*writer));
        pending.push_back(std::move(s));
    }
    if (pending.empty())
        return round;

    std::vector<Request> requests;
    requests.reserve(pending.size());
    for (auto &s : pending) {
        Request r;
        r.url = baseUrl + "/v1/blobs/sha256/" + s.want.digest.hex();
        r.rangeFrom = s.writer->offset();
        r.maxBytes = s.want.size + 1; // the writer enforces the exact size; +1 lets it see "too long"
        r.sink = [&s](long status, std::span<const std::byte> bytes) {
            if (s.resumed && status == 200 && !s.isFile) {
                // The server ignored our Range: it is sending the whole blob.
                s.resumed = false;
                if (auto ok = s.writer->restart(); !ok) {
                    s.writeError = ok.error().message;
                    s.writeBlocker = blockerOf(ok.error());
                    return false;
                }
            }
            s.resumed = false;
            s.received += bytes.size();
            auto ok = s.writer->write(bytes);
            if (!ok) {
                s.tooLong = ok.error().code == cache::ErrorCode::SizeMismatch;
                s.writeError = ok.error().message;
                s.writeBlocker = blockerOf(ok.error());
            }
            return bool(ok);
        };
        requests.push_back(std::move(r));
    }

    m_http.performAll(requests, parallel, [&](std::size_t i, TransferResult result) {
        Slot &s = pending[i];
        ++round.attempted;
        const schedule::Digest &digest = s.want.digest;
        // Counted also when the transfer failed: a cut-off download's bytes
        // were received and stay in the partial for the resume.
        round.bytes += s.received;
        if (s.tooLong) {
            s.writer->discard();
            ++round.failed;
            return failed(digest, now, Blocker::BlobTooLarge, "longer than its declared " + std::to_string(s.want.size) + " bytes; discarded");
        }
        if (!s.writeError.empty()) {
            ++round.failed;
            return failed(digest, now, s.writeBlocker, s.writeError);
        }
        if (!result) {
            ++round.failed;
            const bool tooLarge = result.error().kind == TransferError::TooLarge;
            if (tooLarge)
                s.writer->discard();
            return failed(digest, now, tooLarge ? Blocker::BlobTooLarge : Blocker::BlobUnreachable,
                          result.error().message);
        }
        if (!result->ok()) {
            ++round.failed;
            if (result->status == 416)
                s.writer->discard(); // our partial does not fit what the server has
            const auto f = failureOf(result, requests[i].url);
            return failed(digest, now, Blocker::BlobUnreachable, f.message, f.retryAfter);
        }
        cache::BlobWriter *writer = &*s.writer;
        s.sealing = std::async(std::launch::async, [writer] { return writer->seal(); });
    });
    // Renaming and indexing need this thread's store connection: done here,
    // once every transfer of the round has ended.
    for (auto &s : pending) {
        if (!s.sealing.valid())
            continue;
        const schedule::Digest &digest = s.want.digest;
        auto sealed = s.sealing.get();
        auto committed = sealed ? s.writer->commit() : std::unexpected(sealed.error());
        if (!committed) {
            ++round.failed;
            failed(digest, now, blockerOf(committed.error()), committed.error().message);
            continue;
        }
        ++round.completed;
        m_channels.erase(digest);
        qCInfo(lcSync, "blob %s verified and stored (%llu bytes)", digest.hex().c_str(),
               static_cast<unsigned long long>(s.want.size));
    }
    m_totalBytes += round.bytes;
    return round;
}

std::optional<SteadyTime> BlobDownloads::nextDue() const
{
    std::optional<SteadyTime> due;
    for (const auto &[digest, c] : m_channels)
        if (!due || c.due < *due)
            due = c.due;
    return due;
}

std::optional<BlobProblem> BlobDownloads::longestFailing() const
{
    std::optional<BlobProblem> oldest;
    for (const auto &[digest, c] : m_channels)
        if (!oldest || c.sinceMs < oldest->sinceMs)
            oldest = BlobProblem{digest, c.blocker, c.message, c.sinceMs};
    return oldest;
}

void BlobDownloads::retain(const std::vector<BlobWant> &wanted)
{
    std::erase_if(m_channels, [&](const auto &entry) {
        return std::none_of(wanted.begin(), wanted.end(), [&](const BlobWant &w) { return w.digest == entry.first; });
    });
}

} // namespace stoa::sync
