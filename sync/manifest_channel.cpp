// sync/manifest_channel.cpp — see manifest_channel.h.
#include "sync/manifest_channel.h"

#include "schedule/acceptance.h"
#include "schedule/envelope.h"
#include "sync/logging.h"

namespace stoa::sync {

namespace {

constexpr const char *kKeysEnvelopeKey = "keys.envelope";

std::int64_t wallMs() { return QDateTime::currentMSecsSinceEpoch(); }

} // namespace

ManifestChannel::ManifestChannel(const AgentConfig &config, const std::string &deviceId, cache::Store &store,
                                 HttpClient &http, schedule::TrustStore &trust, schedule::TrustedClock &clock,
                                 Backoff::Rng &rng, ManifestSlots &manifests, cache::SyncStatus &status,
                                 ActivationChannel &activation, AgentMetrics *const &metrics)
    : m_config(config), m_deviceId(deviceId), m_store(store), m_trust(trust), m_clock(clock), m_rng(rng),
      m_manifests(manifests), m_status(status), m_activation(activation), m_metrics(metrics),
      m_fetcher(http, store.kv()), m_pacer(config.syncInterval, config.backoff)
{
}

void ManifestChannel::restoreKeys()
{
    if (auto keys = m_store.kv().get(kKeysEnvelopeKey); keys && *keys) {
        if (auto doc = m_trust.restoreKeysEnvelope(QByteArray::fromStdString(**keys)); !doc)
            qCWarning(lcSync, "stored keys document no longer verifies (%s); using root keys only",
                      qPrintable(doc.error().reason));
    }
}

void ManifestChannel::start(SteadyTime started)
{
    m_due = started + m_pacer.initialDelay(m_rng, m_manifests.active.has_value());
}

void ManifestChannel::wakeUp(SteadyTime now)
{
    if (m_pacer.backoff().consecutiveFailures() == 0)
        m_due = std::min(m_due, now);
}

void ManifestChannel::done(SteadyTime now, bool ok, const std::string &result, std::optional<Millis> retryAfter)
{
    if (m_metrics)
        m_metrics->request("manifest", AgentMetrics::manifestOutcome(ok, result));
    m_pacer.setSteadyInterval(m_manifests.syncInterval(m_config.syncInterval));
    const Millis wait = ok ? m_pacer.afterSuccess(m_rng) : m_pacer.afterFailure(m_rng, retryAfter);
    // From the answer, not from the poll's start: a slow keys.json must not
    // eat into a Retry-After or the backoff.
    m_due = std::max(now, std::chrono::steady_clock::now()) + wait;
    m_status.lastResult = result;
    m_status.consecutiveFailures = m_pacer.backoff().consecutiveFailures();
    m_status.backoffSeconds = ok ? 0.0 : double(wait.count()) / 1000.0;
    m_status.nextAttemptAtMs = wallMs() + wait.count();
    if (ok) {
        m_status.lastSuccessAtMs = wallMs();
        m_status.lastError.clear();
    } else {
        m_status.lastError = result;
        qCWarning(lcSync, "manifest poll failed: %s; next attempt in %.1f s (failure %d in a row)", result.c_str(),
                  double(wait.count()) / 1000.0, m_status.consecutiveFailures);
    }
}

bool ManifestChannel::pollKeys(const QDateTime &trustedNow, std::string &error, std::optional<Millis> &retryAfter)
{
    auto keys = m_fetcher.fetch(m_config.server + "/v1/keys.json", DocumentFetcher::Optional::Yes);
    if (!keys) {
        error = "keys.json: " + keys.error().message;
        retryAfter = keys.error().retryAfter;
        return false;
    }
    if (keys->state != Fetched::New)
        return true; // unchanged, or absent: manifests are signed by root keys
    auto checked = m_trust.checkKeysEnvelope(keys->bytes, trustedNow);
    if (!checked && checked.error().code != schedule::RejectCode::NotNewer) {
        error = "keys.json rejected: " + checked.error().reason.toStdString();
        return false;
    }
    if (checked) {
        // Floor first, then the document: a crash in between leaves the reset
        // done and recorded under this keys version, and the document is
        // simply adopted again. The other way round, the document would be
        // in force and, no longer newer, would never reset the floor.
        if (checked->manifestVersionFloor) {
            auto reset = m_store.manifests().resetFloor(*checked->manifestVersionFloor, checked->version);
            if (!reset) {
                error = "cannot reset the manifest version floor: " + reset.error().message;
                return false;
            }
            if (reset->applied)
                qCInfo(lcSync, "keys document version %lld: manifest version floor %lld (was %lld); a manifest above "
                               "it may replace the one on screen",
                       static_cast<long long>(checked->version), static_cast<long long>(reset->after),
                       static_cast<long long>(reset->before));
        }
        if (auto ok = m_store.kv().set(kKeysEnvelopeKey, keys->bytes.toStdString()); !ok) {
            error = "cannot store keys document: " + ok.error().message;
            return false;
        }
        auto adopted = m_trust.adoptKeysEnvelope(keys->bytes, trustedNow);
        if (!adopted) { // checked a moment ago with the same time: cannot happen
            error = "keys.json rejected: " + adopted.error().reason.toStdString();
            return false;
        }
        qCInfo(lcSync, "adopted keys document version %lld (%zu signing keys)", static_cast<long long>(adopted->version),
               adopted->keys.size());
        m_activation.keySetChanged();
    }
    m_fetcher.remember(*keys);
    return true;
}

void ManifestChannel::step(SteadyTime now)
{
    if (now < m_due)
        return;
    m_status.lastAttemptAtMs = wallMs();
    const QDateTime trustedNow = m_clock.now().utc;
    std::string error;
    std::optional<Millis> retryAfter;
    if (!pollKeys(trustedNow, error, retryAfter))
        return done(now, false, error, retryAfter);
    const auto &doc = m_trust.keysDocument();
    m_status.keys = doc ? "keys document v" + std::to_string(doc->version) + " (" + std::to_string(doc->keys.size()) +
                              " signing keys)"
                        : "root keys only";

    auto fetched = m_fetcher.fetch(m_config.server + "/v1/devices/" + m_deviceId + "/manifest.json",
                                   DocumentFetcher::Optional::Yes);
    if (fetched && fetched->state == Fetched::Absent)
        fetched = m_fetcher.fetch(m_config.server + "/v1/manifest.json");
    if (!fetched)
        return done(now, false, fetched.error().message, fetched.error().retryAfter);
    if (fetched->state == Fetched::Absent) {
        m_status.state = m_manifests.active ? m_status.state : "no_manifest";
        return done(now, true, "no manifest published");
    }
    if (fetched->state == Fetched::Unchanged)
        return done(now, true, "unchanged");

    const std::string bytes = fetched->bytes.toStdString();
    auto active = m_store.manifests().get(cache::Slot::Active);
    auto staged = m_store.manifests().get(cache::Slot::Staged);
    if ((active && *active && (*active)->envelope == bytes) || (staged && *staged && (*staged)->envelope == bytes)) {
        m_fetcher.remember(*fetched);
        return done(now, true, "unchanged");
    }
    auto floor = m_store.manifests().rollbackFloor();
    schedule::AcceptanceContext ctx;
    if (floor && (*floor > 0 || m_manifests.active))
        ctx.adoptedVersion = *floor;
    ctx.trustedNow = trustedNow;
    ctx.deviceId = QString::fromStdString(m_deviceId);
    auto accepted = schedule::acceptManifestEnvelope(fetched->bytes, m_trust, ctx);
    if (!accepted)
        return done(now, false, "manifest rejected: " + accepted.error().reason.toStdString());

    cache::StoredManifest stored;
    stored.version = accepted->manifest.version;
    stored.envelope = bytes;
    for (const auto &[ref, asset] : accepted->manifest.assets)
        stored.assets.push_back(ref);
    if (auto ok = m_store.manifests().stage(stored); !ok)
        return done(now, false, "cannot stage manifest: " + ok.error().message);
    m_fetcher.remember(*fetched);
    m_manifests.staged = std::move(accepted->manifest);
    m_status.stagedVersion = stored.version;
    qCInfo(lcSync, "staged manifest version %lld (%zu assets)", static_cast<long long>(stored.version),
           stored.assets.size());
    done(now, true, "staged version " + std::to_string(stored.version));
}

} // namespace stoa::sync
