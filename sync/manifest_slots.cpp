// sync/manifest_slots.cpp — see manifest_slots.h.
#include "sync/manifest_slots.h"

#include "schedule/manifest_parse.h"

namespace stoa::sync {

namespace {

// A manifest we verified before storing it: parse without re-verifying.
std::optional<schedule::Manifest> parseStored(const std::string &envelope)
{
    auto stored = schedule::readStoredManifest(QByteArrayView(envelope.data(), qsizetype(envelope.size())));
    return stored ? std::optional(std::move(stored->manifest)) : std::nullopt;
}

} // namespace

void ManifestSlots::load(cache::Store &store, cache::SyncStatus &status)
{
    auto activeRow = store.manifests().get(cache::Slot::Active);
    auto stagedRow = store.manifests().get(cache::Slot::Staged);
    active.reset();
    staged.reset();
    if (activeRow && *activeRow) {
        active = parseStored((*activeRow)->envelope);
        status.activeVersion = (*activeRow)->version;
    }
    if (stagedRow && *stagedRow) {
        staged = parseStored((*stagedRow)->envelope);
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
