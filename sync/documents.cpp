#include "sync/documents.h"

#include "sync/logging.h"

#include <QDateTime>

namespace stoa::sync {

namespace {
std::string etagKey(const std::string &url) { return "http.etag " + url; }
std::string lastModKey(const std::string &url) { return "http.last_modified " + url; }
} // namespace

FetchFailure failureOf(const TransferResult &r, const std::string &url)
{
    if (!r)
        return FetchFailure{r.error().message, std::nullopt};
    FetchFailure f{"HTTP " + std::to_string(r->status) + " from " + url, std::nullopt};
    if (r->status == 429 || r->status == 503) {
        const std::string ra = r->header("retry-after");
        if (!ra.empty())
            f.retryAfter = parseRetryAfter(ra, QDateTime::currentDateTimeUtc());
    }
    return f;
}

std::expected<Fetched, FetchFailure> DocumentFetcher::fetch(const std::string &url, Optional optional)
{
    Request req;
    req.url = url;
    req.maxBytes = kMaxDocumentBytes;
    req.totalTimeoutS = 120;
    if (auto v = m_kv.get(etagKey(url)); v && *v)
        req.ifNoneMatch = **v;
    if (auto v = m_kv.get(lastModKey(url)); v && *v)
        req.ifModifiedSince = **v;

    auto r = m_http.perform(req);
    Fetched f;
    f.url = url;
    if (!r) {
        if (r.error().kind == TransferError::NotFound)
            return f; // Absent (file://)
        return std::unexpected(failureOf(r, url));
    }
    if (r->status == 304) {
        f.state = Fetched::Unchanged;
        return f;
    }
    if (r->status == 404 || r->status == 410 || (r->status == 403 && optional == Optional::Yes))
        return f; // Absent
    if (!r->ok())
        return std::unexpected(failureOf(r, url));
    f.state = Fetched::New;
    f.bytes = QByteArray::fromStdString(r->body);
    f.etag = r->header("etag");
    f.lastModified = r->header("last-modified");
    return f;
}

void DocumentFetcher::remember(const Fetched &f)
{
    if (f.state != Fetched::New)
        return;
    auto keep = [&](const std::string &key, const std::string &value) {
        auto ok = value.empty() ? m_kv.remove(key) : m_kv.set(key, value);
        if (!ok)
            qCWarning(lcSync, "cannot remember validators of %s: %s", f.url.c_str(), ok.error().message.c_str());
    };
    keep(etagKey(f.url), f.etag);
    keep(lastModKey(f.url), f.lastModified);
}

void DocumentFetcher::forget(const std::string &url)
{
    (void)m_kv.remove(etagKey(url));
    (void)m_kv.remove(lastModKey(url));
}

} // namespace stoa::sync
