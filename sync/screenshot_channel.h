// sync/screenshot_channel.h — the agent's screenshot channel: the player's
// screenshots (the screenshot command, §9), uploaded one at a time.
//
// Job: when due, take the oldest screenshot the player finished (a "done"
// handover in the store's command log, a JPEG under the data directory)
// and PUT it; the next one goes at once.
//
// Invariants: a screenshot (file and handover) is removed once the server
// took it or cannot take it (no endpoint, a file:// server, the file
// missing or over 16 MiB); a failed upload keeps it for the next try.
#pragma once

#include "cache/store.h"
#include "sync/manifest_slots.h"
#include "sync/uploader.h"

namespace stoa::sync {

class ScreenshotChannel {
public:
    // Everything passed by reference must outlive the channel.
    ScreenshotChannel(const AgentConfig &config, const std::string &deviceId, cache::Store &store,
                      HttpClient &http, Backoff::Rng &rng, const ManifestSlots &manifests,
                      AgentMetrics *const &metrics)
        : m_store(store), m_upload("screenshot", config, deviceId, http, rng, manifests, metrics) {}

    // At start: the first look goes with the first heartbeat.
    void start(SteadyTime first) { m_upload.due = first; }
    void step(SteadyTime now);
    SteadyTime due() const { return m_upload.due; }

private:
    cache::Store &m_store;
    Uploader m_upload;
};

} // namespace stoa::sync
