// sync/documents.h — fetching the signed documents (keys.json, manifests).
//
// Job: conditional GETs that cost nothing when nothing changed. The
// validators (ETag, Last-Modified) of the last document we *processed* are
// kept per URL in the store, and only remembered after the caller handled
// the new bytes successfully — so a document we could not adopt is fetched
// in full again next time rather than answered 304 forever.
#pragma once

#include "cache/kv.h"
#include "sync/backoff.h"
#include "sync/http.h"

#include <QByteArray>

#include <optional>
#include <string>

namespace stoa::sync {

struct Fetched {
    enum State { Unchanged, New, Absent } state = Absent;
    std::string url;
    QByteArray bytes;         // for New
    std::string etag;         // validators of this answer, for remember()
    std::string lastModified;
};

struct FetchFailure {
    std::string message;               // "HTTP 503 from …", "connection broken: …"
    std::optional<Millis> retryAfter;  // from a 429/503's Retry-After
};

class DocumentFetcher {
public:
    static constexpr std::uint64_t kMaxDocumentBytes = 4u << 20; // protocol §2

    // `http` and `kv` must outlive the fetcher.
    DocumentFetcher(HttpClient &http, cache::KeyValue &kv) : m_http(http), m_kv(kv) {}

    enum class Optional { No, Yes };
    // 200 → New, 304 → Unchanged, 404 (or a missing file://) → Absent,
    // anything else (5xx, a transport error, a body over 4 MiB) → failure.
    // For an optional document (keys.json, a device's own manifest) a 403
    // is Absent too: object stores that do not let anonymous readers list a
    // bucket answer 403, not 404, for a key that does not exist.
    std::expected<Fetched, FetchFailure> fetch(const std::string &url, Optional optional = Optional::No);
    // The caller adopted (or deliberately ignored) `f`: next time ask conditionally.
    void remember(const Fetched &f);
    void forget(const std::string &url);

private:
    HttpClient &m_http;
    cache::KeyValue &m_kv;
};

// "HTTP 503" plus Retry-After, or the transport error, as a FetchFailure.
FetchFailure failureOf(const TransferResult &r, const std::string &url);

} // namespace stoa::sync
