// sync/downloads.h — getting a staged manifest's missing blobs.
//
// Job: download blobs a few at a time, each resumable (HTTP Range from the
// partial's offset), cut off at its declared size, verified by the store
// before it becomes visible. Every blob has its own Pacer: one that keeps
// failing (404, wrong bytes, a server cutting it off) backs off on its own
// and never stalls the others, and never retries in a tight loop.
//
// Every failure is also classified (Blocker) and remembered with since when
// that blob has failed that way, until it is stored or no longer wanted: the
// agent reports what holds a staged manifest back from that (§5
// sync.staged_blocked).
//
// Invariants:
//  - a body longer than declared, or bytes that hash wrong, leave nothing
//    behind (the partial is deleted); a cut connection keeps the partial;
//  - only the store's BlobWriter decides what becomes visible;
//  - a blob's failure is remembered from its first failure until it is
//    stored or no longer wanted (retain()), whatever comes in between.
#pragma once

#include "cache/store.h"
#include "schedule/digest.h"
#include "sync/backoff.h"
#include "sync/http.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stoa::sync {

using SteadyTime = std::chrono::steady_clock::time_point;

// What keeps a staged manifest from being activated. The codes are fixed:
// they are §5's sync.staged_blocked.reason and the `reason` label of
// stoa_sync_staged_blocked (docs/protocol.md); new ones may be added, none
// renamed.
enum class Blocker {
    NoSpace,              // "no_space": the quota or the disk cannot hold a blob, even after eviction
    BlobCorrupt,          // "blob_corrupt": the bytes served fail verification (hash or length)
    BlobTooLarge,         // "blob_too_large": the server sends more than the declared size
    BlobUnreachable,      // "blob_unreachable": an HTTP error or a transport failure
    StoreError,           // "store_error": the store cannot write it (I/O, database, a busy partial)
    DownloadWindowClosed, // "download_window_closed": downloads wait for download_window
};
inline constexpr Blocker kBlockers[] = {Blocker::NoSpace,         Blocker::BlobCorrupt, Blocker::BlobTooLarge,
                                        Blocker::BlobUnreachable, Blocker::StoreError,  Blocker::DownloadWindowClosed};
const char *blockerCode(Blocker b);

// The failure a wanted blob is backing off from.
struct BlobProblem {
    schedule::Digest digest;
    Blocker blocker = Blocker::BlobUnreachable;
    std::string message;      // one sentence in plain words, naming the blob
    std::int64_t sinceMs = 0; // wall clock of its first failure of this kind in a row
};

struct BlobWant {
    schedule::Digest digest;
    std::uint64_t size = 0; // as the manifest declares it
};

struct DownloadRound {
    int attempted = 0;
    int completed = 0;
    int failed = 0;
    std::uint64_t bytes = 0; // body bytes received this round
};

class BlobDownloads {
public:
    // Everything passed by reference must outlive the object.
    BlobDownloads(HttpClient &http, cache::Store &store, BackoffPolicy policy, Backoff::Rng &rng)
        : m_http(http), m_store(store), m_policy(policy), m_rng(rng) {}

    // Downloads every wanted blob that is missing and due, at most `parallel`
    // at a time; returns when all of this round's transfers ended.
    DownloadRound run(const std::string &baseUrl, const std::vector<BlobWant> &wanted, int parallel, SteadyTime now);
    // When the earliest backed-off blob may be tried again; nullopt: none waits.
    std::optional<SteadyTime> nextDue() const;
    // Forgets backoff state of blobs no longer wanted.
    void retain(const std::vector<BlobWant> &wanted);
    // Of the blobs failing now, the one failing longest; nullopt: none fails.
    std::optional<BlobProblem> longestFailing() const;

    std::uint64_t totalBytes() const { return m_totalBytes; }
    const std::string &lastError() const { return m_lastError; }

private:
    struct Channel {
        Pacer pacer;
        SteadyTime due;
        Blocker blocker = Blocker::BlobUnreachable; // the last failure's kind
        std::string message;                         // the last failure in plain words
        std::int64_t sinceMs = 0;                    // first failure of this kind in a row (wall clock)
    };
    void failed(const schedule::Digest &digest, SteadyTime now, Blocker blocker, const std::string &why,
                std::optional<Millis> retryAfter = {});

    HttpClient &m_http;
    cache::Store &m_store;
    BackoffPolicy m_policy;
    Backoff::Rng &m_rng;
    std::map<schedule::Digest, Channel> m_channels; // blobs that failed at least once since their last success
    std::uint64_t m_totalBytes = 0;
    std::string m_lastError;
};

} // namespace stoa::sync
