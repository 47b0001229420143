// player/active_manifest.cpp — parse the stored active envelope (see active_manifest.h).
#include "player/active_manifest.h"

#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace stoa::player {

namespace {

std::map<std::pair<std::string, std::size_t>, int> readFades(const QByteArray &payload)
{
    std::map<std::pair<std::string, std::size_t>, int> fades;
    const QJsonObject playlists = QJsonDocument::fromJson(payload).object().value("playlists").toObject();
    for (auto it = playlists.begin(); it != playlists.end(); ++it) {
        const QJsonArray items = it.value().toObject().value("items").toArray();
        for (qsizetype i = 0; i < items.size(); ++i) {
            const QJsonValue fade = items[i].toObject().value("fade_ms");
            if (!fade.isDouble())
                continue;
            const double ms = fade.toDouble();
            if (ms >= 0 && ms <= 10000)
                fades[{it.key().toStdString(), std::size_t(i)}] = int(ms);
        }
    }
    return fades;
}

} // namespace

std::expected<ActiveManifest, std::string> parseStoredManifest(const cache::StoredManifest &stored)
{
    auto envelope = schedule::parseEnvelope(QByteArrayView(stored.envelope.data(), qsizetype(stored.envelope.size())));
    if (!envelope)
        return std::unexpected("the envelope does not parse: " + envelope.error().reason.toStdString());
    auto manifest = schedule::parseManifest(envelope->payload);
    if (!manifest)
        return std::unexpected("the manifest does not parse: " + manifest.error().reason.toStdString());
    return ActiveManifest{std::move(*manifest), readFades(envelope->payload)};
}

std::expected<std::optional<ActiveManifest>, std::string> loadStoredManifest(cache::Store &store, cache::Slot slot)
{
    const char *name = slot == cache::Slot::Active ? "active" : "staged";
    auto stored = store.manifests().get(slot);
    if (!stored)
        return std::unexpected(std::string("cannot read the ") + name + " manifest: " + stored.error().message);
    if (!*stored)
        return std::optional<ActiveManifest>();
    auto parsed = parseStoredManifest(**stored);
    if (!parsed)
        return std::unexpected(std::string("the ") + name + " manifest: " + parsed.error());
    return std::optional<ActiveManifest>(std::move(*parsed));
}

} // namespace stoa::player
