// sync/uploader.cpp — see uploader.h.
#include "sync/uploader.h"

#include "sync/documents.h"
#include "sync/logging.h"

namespace stoa::sync {

Uploader::Sent Uploader::send(SteadyTime now, const char *method, const char *contentType, std::string body)
{
    Request request;
    request.method = method;
    request.url = m_config.server + "/v1/devices/" + m_deviceId + "/" + m_endpoint;
    request.contentType = contentType;
    request.body = std::move(body);
    request.maxBytes = 64 * 1024; // we only want the status line
    request.totalTimeoutS = 60;
    auto r = m_http.perform(request);
    now = std::max(now, std::chrono::steady_clock::now()); // waits count from the answer
    m_pacer.setSteadyInterval(interval());
    if (r && r->ok()) {
        if (m_metrics)
            m_metrics->request(m_endpoint, "ok");
        due = now + m_pacer.afterSuccess(m_rng);
        result = "ok";
        return Sent::Ok;
    }
    if (r && (r->status == 404 || r->status == 405 || r->status == 501)) {
        // A static server: not an outage, so no backoff growth — just ask rarely.
        if (m_metrics)
            m_metrics->request(m_endpoint, "unsupported");
        m_pacer.afterSuccess(m_rng);
        due = now + m_config.unsupportedRetry;
        result = "not supported by the server";
        return Sent::Unsupported;
    }
    const FetchFailure f = failureOf(r, request.url);
    if (m_metrics)
        m_metrics->request(m_endpoint, "error");
    const Millis wait = m_pacer.afterFailure(m_rng, f.retryAfter);
    due = now + wait;
    result = f.message;
    qCWarning(lcSync, "%s failed: %s; retry in %.1f s", request.url.c_str(), f.message.c_str(),
              double(wait.count()) / 1000.0);
    return Sent::Failed;
}

} // namespace stoa::sync
