// player/active_manifest.cpp — see active_manifest.h.
#include "player/active_manifest.h"

#include "schedule/manifest_parse.h"

namespace stoa::player {

std::expected<std::optional<schedule::Manifest>, std::string> loadStoredManifest(cache::Store &store, cache::Slot slot)
{
    const char *name = slot == cache::Slot::Active ? "active" : "staged";
    auto stored = store.manifests().get(slot);
    if (!stored) {
        // Appended, not one chain of + on temporaries: GCC 12 at -O2 sees a
        // false -Warray-bounds in that chain (with the tree's precompiled header).
        std::string error = "cannot read the ";
        error.append(name).append(" manifest: ").append(stored.error().message);
        return std::unexpected(std::move(error));
    }
    if (!*stored)
        return std::optional<schedule::Manifest>();
    const std::string &envelope = (*stored)->envelope;
    auto content = schedule::readStoredManifest(QByteArrayView(envelope.data(), qsizetype(envelope.size())));
    if (!content)
        return std::unexpected(std::string("the ") + name + " " + content.error().reason.toStdString());
    return std::optional<schedule::Manifest>(std::move(content->manifest));
}

} // namespace stoa::player
