// sync/command_channel.h — the agent's command channel: the active
// manifest's commands (§9), each executed once.
//
// Job: for a newly active manifest, go through its commands once: hand the
// player's to the player (the store's command log), run clear_cache and
// reboot here, record unknown types as ignored.
//
// Invariants:
//  - a command id is executed at most once per device, whatever restarts:
//    the store's command log is asked before and written before acting
//    (a reboot is recorded "started" first, so coming back never reboots again);
//  - a store error stops the pass; the next step tries the same version again.
#pragma once

#include "cache/store.h"
#include "sync/config.h"
#include "sync/manifest_slots.h"

#include <cstdint>

namespace stoa::sync {

class CommandChannel {
public:
    // Everything passed by reference must outlive the channel.
    CommandChannel(const AgentConfig &config, cache::Store &store, const ManifestSlots &manifests)
        : m_config(config), m_store(store), m_manifests(manifests) {}

    void step();

private:
    const AgentConfig &m_config; // rebootCommand
    cache::Store &m_store;
    const ManifestSlots &m_manifests;
    std::int64_t m_doneForVersion = -1; // every command of this active version was dispatched
};

} // namespace stoa::sync
