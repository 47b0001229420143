// sync/activation_channel.h — the agent's activation channel: the staged
// manifest becomes the active one, and key revocation (v1.1 §11).
//
// Job: once every blob of the staged manifest is present, swap it in (one
// store transaction) and let the trusted clock learn its issued_at; after
// the key set changed, drop a staged manifest whose signer was revoked and
// say in the status whether the active one's signer still holds.
//
// Invariants:
//  - a manifest becomes active only when all its blobs are present
//    (status.stagedBlobsMissing == 0 and the store's own check), in one
//    store transaction; until then the previous one stays active;
//  - a staged manifest signed by a key no longer in the key set never
//    activates: it is dropped (or, if the store refuses, held back and
//    dropped on a later step);
//  - an active manifest whose signer was revoked keeps playing (it is what
//    the device has) until a newer one is adopted; the status flags it.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/trust_store.h"
#include "schedule/trusted_time.h"
#include "sync/download_channel.h"
#include "sync/manifest_slots.h"

namespace stoa::sync {

class ActivationChannel {
public:
    // Everything passed by reference must outlive the channel.
    ActivationChannel(cache::Store &store, const schedule::TrustStore &trust, schedule::TrustedClock &clock,
                      ManifestSlots &manifests, cache::SyncStatus &status, DownloadChannel &downloads)
        : m_store(store), m_trust(trust), m_clock(clock), m_manifests(manifests), m_status(status),
          m_downloads(downloads)
    {
    }

    void step();
    // After a keys document was adopted (the ManifestChannel calls it).
    void keySetChanged();
    // v1.1 §11: does the key set still vouch for the active manifest? Sets
    // status.activeSignerRevoked (and logs when it becomes true).
    void refreshSignerRevoked();

private:
    bool dropStagedIfRevoked(); // true: a staged manifest the key set no longer vouches for was (or is being) dropped

    cache::Store &m_store;
    const schedule::TrustStore &m_trust;
    schedule::TrustedClock &m_clock;
    ManifestSlots &m_manifests;  // moves staged to active, drops staged
    cache::SyncStatus &m_status; // writes activeVersion, stagedVersion, activeSignerRevoked, state ("in_sync")
    DownloadChannel &m_downloads; // told to forget blob backoffs once the staged manifest is gone
};

} // namespace stoa::sync
