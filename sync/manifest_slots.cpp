// sync/manifest_slots.cpp — see manifest_slots.h.
#include "sync/manifest_slots.h"

#include "schedule/manifest_parse.h"

namespace stoa::sync {

void ManifestSlots::load(cache::Store &store, cache::SyncStatus &status)
{
    auto activeRow = store.manifests().get(cache::Slot::Active);
    auto stagedRow = store.manifests().get(cache::Slot::Staged);
    active.reset();
    staged.reset();
    if (activeRow && *activeRow) {
        active = schedule::readStoredManifestModel((*activeRow)->envelope);
        status.activeVersion = (*activeRow)->version;
    }
    if (stagedRow && *stagedRow) {
        staged = schedule::readStoredManifestModel((*stagedRow)->envelope);
        status.stagedVersion = staged ? (*stagedRow)->version : 0;
    }
}

Millis ManifestSlots::syncInterval(Millis configured) const
{
    if (active && active->settings.syncIntervalS)
        return Millis(std::int64_t(*active->settings.syncIntervalS) * 1000);
    return configured;
}

Millis ManifestSlots::statusInterval(Millis configured) const
{
    if (active && active->settings.statusIntervalS)
        return Millis(std::int64_t(*active->settings.statusIntervalS) * 1000);
    return configured;
}

} // namespace stoa::sync
