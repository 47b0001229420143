// sync/agent.cpp — the agent's loop over its channels (see agent.h).
#include "sync/agent.h"

#include "sync/logging.h"

namespace stoa::sync {

Agent::Agent(AgentConfig config, std::string deviceId, cache::Store &store, HttpClient &http,
             schedule::TrustStore trust, schedule::TrustedClock &clock, std::uint64_t seed)
    : m_config(std::move(config)), m_deviceId(std::move(deviceId)), m_store(store), m_http(http),
      m_trust(std::move(trust)), m_clock(clock), m_rng(seed), m_started(std::chrono::steady_clock::now()),
      m_statusChannel(store, m_manifests, m_status, m_obs),
      m_downloads(m_config, store, http, m_rng, clock, m_manifests, m_status, m_obs.metrics),
      m_activation(store, m_trust, clock, m_manifests, m_status, m_downloads),
      m_manifest(m_config, m_deviceId, store, http, m_trust, clock, m_rng, m_manifests, m_status, m_activation,
                 m_obs.metrics),
      m_commands(m_config, store, m_manifests),
      m_heartbeat(m_config, m_deviceId, store, http, m_rng, clock, m_manifests, m_status,
                  m_statusChannel.health(), m_obs.metrics),
      m_plays(m_config, m_deviceId, store, http, m_rng, m_manifests, m_status, m_obs.metrics),
      m_screenshots(m_config, m_deviceId, store, http, m_rng, m_manifests, m_obs.metrics),
      m_timeFloor(store, clock)
{
    m_status.server = m_config.server;
    m_manifest.restoreKeys();
    m_manifests.load(m_store, m_status);
    m_activation.refreshSignerRevoked();
    // A fleet powered on together must not ask in the same second.
    m_manifest.start(m_started);
    const SteadyTime firstReport = m_heartbeat.start(m_started);
    m_plays.start(firstReport);
    m_screenshots.start(firstReport);
}

// --- The main loop: one screen.

SteadyTime Agent::step(SteadyTime now)
{
    if (m_wakeUp.exchange(false))
        m_manifest.wakeUp(now);
    m_statusChannel.observe(now);
    m_manifest.step(now);
    m_downloads.step(now);
    m_activation.step();
    m_commands.step();
    m_heartbeat.step(now);
    m_plays.step(now);
    m_screenshots.step(now);
    m_timeFloor.step();
    m_statusChannel.publish();

    SteadyTime next = std::min({m_manifest.due(), m_heartbeat.due(), m_plays.due(), m_screenshots.due()});
    next = m_downloads.nextDue(now, next);
    return std::min(next, m_timeFloor.due(now));
}

void Agent::run()
{
    // Idle waits are cut to a few seconds so the liveness ticks (/healthz,
    // the systemd watchdog) keep coming while nothing is due.
    constexpr auto kMaxIdle = std::chrono::seconds(2);
    while (!m_stop.load()) {
        const SteadyTime next = step(std::chrono::steady_clock::now());
        std::unique_lock lock(m_waitMutex);
        m_wake.wait_until(lock, std::min(next, std::chrono::steady_clock::now() + kMaxIdle),
                          [&] { return m_stop.load() || m_wakeUp.load(); });
    }
    m_timeFloor.saveNow();
    qCInfo(lcSync, "agent stopped");
}

void Agent::wakeUp()
{
    m_wakeUp.store(true);
    std::lock_guard lock(m_waitMutex);
    m_wake.notify_all();
}

void Agent::stop()
{
    m_stop.store(true);
    m_http.abort(); // a long download (rate cap, slow server) must not hold up shutdown
    std::lock_guard lock(m_waitMutex);
    m_wake.notify_all();
}

} // namespace stoa::sync
