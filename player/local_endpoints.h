// player/local_endpoints.h — the player's /healthz, /metrics and /status (spec §8).
//
// The server runs on its own thread (endpoints/server.h); everything it
// answers was prepared on the GUI thread, so a request never touches the
// store, Qt Quick or Playback, and a flood of requests never delays a frame:
//  - /healthz: live while frames are swapped or the GUI thread's playback
//    tick turns (250 ms timer) within 10 s. The window is asked for a frame
//    every 5 s, so a hung render thread also stops the GUI thread (it waits
//    for the render thread at the next sync) and with it the ticks;
//  - /metrics: stoa_playback_* counters fed by Playback's signals, gauges
//    refreshed every second, process metrics;
//  - /status: spec §5's document built from DeviceState (device_state.h) on
//    the GUI thread. A request asks for a fresh one and waits up to 2 s for
//    it; a hung GUI thread gets the last one (its sent_at says how old). It
//    waits on the server's worker thread (endpoints::Runs::OnWorker), never
//    in the poll loop: /healthz and /metrics are answered meanwhile.
//
// Metrics (docs/endpoints.md): stoa_playback_items_total{kind,outcome},
// stoa_playback_transition_seconds (histogram), stoa_playback_transitions_total,
// stoa_playback_manifest_version, stoa_playback_manifest_stale,
// stoa_playback_idle, stoa_clock_trusted, stoa_player_diagnostics_open.
#pragma once

#include "endpoints/liveness.h"
#include "endpoints/metrics.h"
#include "endpoints/server.h"
#include "player/device_state.h"
#include "schedule/status_report.h"

#include <QObject>
#include <QTimer>

#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <mutex>
#include <string>

class QQuickWindow;

namespace stoa::player {

class Playback;

// The §5 document for a DeviceState.
schedule::StatusReport statusReportOf(const DeviceState &state);

class LocalEndpoints : public QObject {
    Q_OBJECT
public:
    using Gather = std::function<DeviceState()>;

    // `playback` and `window` must outlive this; `gather` runs on this
    // (the GUI) thread only.
    LocalEndpoints(Playback &playback, QQuickWindow *window, Gather gather, QObject *parent = nullptr);
    ~LocalEndpoints() override;

    // Binds `listen` ("127.0.0.1:0" picks a port). An error leaves playback
    // untouched; the caller logs it.
    std::expected<void, std::string> start(const std::string &listen);
    std::uint16_t port() const { return m_server.port(); }
    endpoints::Liveness &liveness() { return m_liveness; }
    endpoints::MetricsRegistry &metrics() { return m_metrics; }

private:
    void onTick();
    void refreshGauges();
    void refreshStatus();
    endpoints::Response serveStatus();

    Playback &m_playback;
    QQuickWindow *m_window;
    Gather m_gather;

    endpoints::Liveness m_liveness;      // ticked from the GUI and render threads
    endpoints::MetricsRegistry m_metrics;
    endpoints::CounterFamily m_items;
    endpoints::Counter m_transitions;
    endpoints::Histogram m_transitionSeconds;
    endpoints::Gauge m_manifestVersion, m_stale, m_idle, m_clockTrusted;

    QTimer m_tick;                       // 250 ms: liveness, /status requests, gauges each 1 s
    int m_ticks = 0;

    // --- The following fields are protected by m_statusMutex (GUI thread
    // writes, server thread reads).
    std::mutex m_statusMutex;
    std::condition_variable m_statusFresh;
    QByteArray m_status;                 // the last §5 document; empty before the first
    std::uint64_t m_statusGeneration = 0;
    bool m_statusWanted = false;         // a request waits for a fresh document
    bool m_closing = false;              // being destroyed: a waiting request takes what there is

    // Last: stopped (and joined) first, before what its handlers use.
    endpoints::LocalServer m_server;
};

} // namespace stoa::player
