#include "sync/wake_listener.h"

#include "sync/logging.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QUrl>

namespace stoa::sync {

namespace {

// A held request carries no byte for up to 60 s by design: the agent's
// low-speed limit would cut it; the request's total timeout bounds it instead.
HttpOptions heldRequestOptions(HttpOptions o)
{
    o.lowSpeedLimit = 0;
    o.lowSpeedTimeS = 0;
    return o;
}

// The longest a server holds a wake-up request (§10).
constexpr Millis kServerHold{60 * 1000};

} // namespace

WakeListener::WakeListener(WakeListenerOptions options, std::function<void()> onChange, std::uint64_t seed)
    : m_options(std::move(options)), m_onChange(std::move(onChange)), m_http(heldRequestOptions(m_options.http)),
      m_backoff(m_options.backoff), m_rng(seed)
{
}

WakeListener::~WakeListener() { stop(); }

void WakeListener::start()
{
    if (m_options.server.starts_with("file:") || m_thread.joinable())
        return;
    m_thread = std::thread([this] { run(); });
}

void WakeListener::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_http.abort();
    m_cv.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

WakeListenerStats WakeListener::stats() const
{
    std::lock_guard lock(m_mutex);
    return m_stats;
}

bool WakeListener::pause(Millis wait)
{
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, wait, [this] { return m_stopping; });
    return !m_stopping;
}

void WakeListener::run()
{
    std::string base = m_options.server;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    const std::string url = base + "/v1/devices/" + m_options.deviceId + "/wake";
    std::string cursor;
    auto lastStart = std::chrono::steady_clock::now() - m_options.minGap;
    for (;;) {
        // At least minGap between two requests, whatever came back.
        const auto since = std::chrono::steady_clock::now() - lastStart;
        if (since < m_options.minGap && !pause(std::chrono::duration_cast<Millis>(m_options.minGap - since)))
            return;
        {
            std::lock_guard lock(m_mutex);
            if (m_stopping)
                return;
        }
        lastStart = std::chrono::steady_clock::now();
        Request request;
        request.url = cursor.empty()
                          ? url
                          : url + "?after=" + QUrl::toPercentEncoding(QString::fromStdString(cursor)).toStdString();
        request.totalTimeoutS = m_options.holdTimeoutS;
        request.maxBytes = 4096;
        const auto result = m_http.perform(request);
        {
            std::lock_guard lock(m_mutex);
            if (m_stopping)
                return;
        }
        if (result && (result->status == 200 || result->status == 204)) {
            m_backoff.success();
            {
                std::lock_guard lock(m_mutex);
                m_stats.supported = true;
            }
            if (result->status == 204)
                continue;
            const auto next = QJsonDocument::fromJson(QByteArray::fromStdString(result->body))
                                  .object().value(QLatin1String("cursor")).toString().toStdString();
            if (next.empty()) {
                qCWarning(lcSync, "wake-up: a 200 without a cursor; backing off");
            } else {
                const bool changed = !cursor.empty() && next != cursor;
                cursor = next;
                if (changed) {
                    {
                        std::lock_guard lock(m_mutex);
                        ++m_stats.wakes;
                    }
                    qCInfo(lcSync, "wake-up: the server says something changed; polling now");
                    m_onChange();
                }
                continue;
            }
        }
        Millis wait{};
        if (result && (result->status == 404 || result->status == 405 || result->status == 501)) {
            std::lock_guard lock(m_mutex);
            if (m_stats.supported)
                qCInfo(lcSync, "wake-up: not supported by the server (%ld); asking again in an hour", result->status);
            m_stats.supported = false;
            wait = jittered(m_options.unsupportedWait, 0.1, m_rng);
        } else {
            std::optional<Millis> retryAfter;
            std::string why;
            if (result) {
                retryAfter = parseRetryAfter(result->header("retry-after"), QDateTime::currentDateTimeUtc());
                why = "HTTP " + std::to_string(result->status);
            } else {
                why = result.error().message;
            }
            // The channel's steady interval is the server's hold (§10: up
            // to 60 s): tied to it like the agent's Pacers, a fleet's wake
            // channel is back within two minutes of an outage's end, not
            // within the 15-minute cap, and while failing asks once a
            // minute on average, as often as while its requests are held.
            wait = m_backoff.failure(m_rng, retryAfter, intervalCap(m_options.backoff, kServerHold));
            {
                std::lock_guard lock(m_mutex);
                ++m_stats.failures;
            }
            qCInfo(lcSync, "wake-up: %s; again in %lld ms", why.c_str(), static_cast<long long>(wait.count()));
        }
        if (!pause(wait))
            return;
    }
}

} // namespace stoa::sync
