// player/active_manifest.cpp — see active_manifest.h.
#include "player/active_manifest.h"

#include "schedule/manifest_parse.h"

namespace stoa::player {

std::expected<std::optional<schedule::Manifest>, std::string> loadStoredManifest(cache::Store &store, cache::Slot slot)
{
    const char *name = slot == cache::Slot::Active ? "active" : "staged";
    auto stored = store.manifests().get(slot);
    if (!stored)
        return std::unexpected(std::string("cannot read the ") + name + " manifest: " + stored.error().message);
    if (!*stored)
        return std::optional<schedule::Manifest>();
    const std::string &envelope = (*stored)->envelope;
    auto content = schedule::readStoredManifest(QByteArrayView(envelope.data(), qsizetype(envelope.size())));
    if (!content)
        return std::unexpected(std::string("the ") + name + " " + content.error().reason.toStdString());
    return std::optional<schedule::Manifest>(std::move(content->manifest));
}

} // namespace stoa::player
