// sync/plays_channel.h — the agent's proof-of-play channel (§6): the
// store's spooled plays, uploaded in batches.
//
// Job: when due and plays are waiting, POST the oldest batch as NDJSON;
// once the server took it, drop it from the store, and send the next batch
// at once when a full one went (a backlog after an outage drains quickly).
//
// Invariants: plays leave the store only after the server acknowledged them
// (a 2xx); a failed or unsupported upload keeps them for the next try; with
// nothing waiting (or a file:// server) the channel looks again one status
// interval later.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "sync/manifest_slots.h"
#include "sync/uploader.h"

namespace stoa::sync {

class PlaysChannel {
public:
    // Everything passed by reference must outlive the channel.
    PlaysChannel(const AgentConfig &config, const std::string &deviceId, cache::Store &store, HttpClient &http,
                 Backoff::Rng &rng, const ManifestSlots &manifests, cache::SyncStatus &status,
                 AgentMetrics *const &metrics)
        : m_config(config), m_store(store), m_status(status),
          m_upload("plays", config, deviceId, http, rng, manifests, metrics) {}

    // At start: the first upload goes with the first heartbeat.
    void start(SteadyTime first) { m_upload.due = first; }
    void step(SteadyTime now);
    SteadyTime due() const { return m_upload.due; }

private:
    const AgentConfig &m_config; // playsBatch
    cache::Store &m_store;
    cache::SyncStatus &m_status; // writes plays
    Uploader m_upload;
};

} // namespace stoa::sync
