// sync/manifest_channel.h — the agent's manifest channel: poll keys.json
// and the manifest, verify, stage.
//
// Job: when due, fetch keys.json (adopting a newer keys document, v1.1)
// and then the device's own manifest or the fleet's (§2, conditional GETs),
// run the acceptance rules (§3) and stage a new manifest in the store; then
// pace the next poll (sync interval, backoff, Retry-After) and report the
// outcome in the status.
//
// Invariants:
//  - nothing reaches the store that was not verified: keys documents
//    through the TrustStore, manifests through acceptManifestEnvelope;
//  - a keys document's version floor reset is stored before the document
//    (a crash in between repeats the adoption, never skips the reset);
//  - a failure (transport, HTTP status, a rejected document) only moves the
//    next poll later; it never touches what is active or staged;
//  - the next poll is paced from the answer, not from the poll's start;
//  - wakeUp() only brings a poll forward when the channel is not backing off.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/trust_store.h"
#include "schedule/trusted_time.h"
#include "sync/activation_channel.h"
#include "sync/agent_metrics.h"
#include "sync/config.h"
#include "sync/documents.h"
#include "sync/manifest_slots.h"

#include <QDateTime>

namespace stoa::sync {

class ManifestChannel {
public:
    // Everything passed by reference must outlive the channel. `metrics` is
    // the agent's observer slot: null until observers are set, read each use.
    ManifestChannel(const AgentConfig &config, const std::string &deviceId, cache::Store &store, HttpClient &http,
                    schedule::TrustStore &trust, schedule::TrustedClock &clock, Backoff::Rng &rng,
                    ManifestSlots &manifests, cache::SyncStatus &status, ActivationChannel &activation,
                    AgentMetrics *const &metrics);

    // At start: the keys document adopted before a restart, back into the TrustStore.
    void restoreKeys();
    // At start, after the store was read: the first poll, jittered so a fleet
    // powered on together does not ask in the same second.
    void start(SteadyTime started);
    void step(SteadyTime now);
    // A §10 wake-up: poll now, unless backing off after failures.
    void wakeUp(SteadyTime now);
    SteadyTime due() const { return m_due; }

private:
    bool pollKeys(const QDateTime &trustedNow, std::string &error, std::optional<Millis> &retryAfter);
    void done(SteadyTime now, bool ok, const std::string &result, std::optional<Millis> retryAfter = {});

    const AgentConfig &m_config;
    const std::string &m_deviceId;
    cache::Store &m_store;
    schedule::TrustStore &m_trust; // adopts keys documents
    schedule::TrustedClock &m_clock;
    Backoff::Rng &m_rng;
    ManifestSlots &m_manifests;    // writes staged
    cache::SyncStatus &m_status;   // writes lastAttemptAtMs, lastResult, lastSuccessAtMs, lastError,
                                   // consecutiveFailures, backoffSeconds, nextAttemptAtMs, keys,
                                   // stagedVersion, state ("no_manifest")
    ActivationChannel &m_activation; // told when the key set changed
    AgentMetrics *const &m_metrics;

    DocumentFetcher m_fetcher; // validators of the documents last processed
    Pacer m_pacer;             // sync interval after success, backoff after failures
    SteadyTime m_due;          // next poll; brought forward only by wakeUp()
};

} // namespace stoa::sync
