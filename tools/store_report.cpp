#include "tools/store_report.h"

#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "cache/sync_status.h"
#include "tools/inspect.h"

#include <QJsonDocument>

namespace stoa::tools {

namespace {

QString bytes(std::uint64_t n)
{
    if (n >= (1ull << 30))
        return QString::number(double(n) / double(1ull << 30), 'f', 2) + " GiB";
    if (n >= (1ull << 20))
        return QString::number(double(n) / double(1ull << 20), 'f', 1) + " MiB";
    return QString::number(n) + " bytes";
}

QString when(std::int64_t ms)
{
    return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODate) : QStringLiteral("never");
}

} // namespace

QString describeStore(cache::Store &store, const QDateTime &nowUtc)
{
    QString out;
    auto line = [&](const QString &k, const QString &v) { out += k.leftJustified(20) + v + '\n'; };
    line(QStringLiteral("data directory"), QString::fromStdString(store.dataDir().string()));
    line(QStringLiteral("start-up check"), QString::fromStdString(store.recoveryReport().summary()));

    auto active = store.manifests().get(cache::Slot::Active);
    std::optional<schedule::Manifest> manifest;
    if (active && *active) {
        manifest = schedule::readStoredManifestModel((*active)->envelope);
        QString v = QStringLiteral("version %1").arg((*active)->version);
        if (manifest) {
            v += QStringLiteral(", issued %1, expires %2").arg(manifest->issuedAt.toString(Qt::ISODate),
                                                              manifest->expiresAt.toString(Qt::ISODate));
            if (manifest->expiresAt <= nowUtc)
                v += QStringLiteral(" (STALE: expired, still playing)");
        }
        line(QStringLiteral("active manifest"), v);
    } else {
        line(QStringLiteral("active manifest"), QStringLiteral("none (the player shows its idle screen)"));
    }
    if (auto staged = store.manifests().get(cache::Slot::Staged); staged && *staged)
        line(QStringLiteral("staged manifest"), QStringLiteral("version %1, downloading").arg((*staged)->version));
    if (auto floor = store.manifests().floorRecord()) {
        QString text = QString::number(floor->floor);
        if (floor->resetKeysVersion)
            text += QStringLiteral(" (last reset by keys document version %1)").arg(*floor->resetKeysVersion);
        line(QStringLiteral("rollback floor"), text);
    }
    if (manifest)
        out += describeNowPlaying(*manifest, nowUtc);

    if (auto u = store.space().usage()) {
        line(QStringLiteral("blobs"), QStringLiteral("%1 using %2 (%3 pinned by manifests)")
                                          .arg(u->blobCount)
                                          .arg(bytes(u->blobBytes), bytes(u->pinnedBytes)));
        line(QStringLiteral("partial downloads"), bytes(u->partialBytes));
        line(QStringLiteral("quota"), u->quotaBytes ? bytes(u->quotaBytes) : QStringLiteral("none"));
        line(QStringLiteral("disk free"), bytes(u->diskFreeBytes) + QStringLiteral(" of ") + bytes(u->diskTotalBytes));
    }
    if (const auto status = cache::readSyncStatus(store.kv())) {
        const auto &s = *status;
        line(QStringLiteral("sync"), QStringLiteral("%1 with %2").arg(QString::fromStdString(s.state),
                                                                     QString::fromStdString(s.server)));
        line(QStringLiteral("last attempt"), when(s.lastAttemptAtMs) + ": " + QString::fromStdString(s.lastResult));
        line(QStringLiteral("last success"), when(s.lastSuccessAtMs));
        if (s.consecutiveFailures > 0)
            line(QStringLiteral("backing off"), QStringLiteral("%1 failures in a row, next attempt %2")
                                                    .arg(s.consecutiveFailures)
                                                    .arg(when(s.nextAttemptAtMs)));
        line(QStringLiteral("keys"), QString::fromStdString(s.keys));
        if (s.activeSignerRevoked)
            line(QStringLiteral("signer revoked"),
                 QStringLiteral("the key that signed active manifest version %1 is no longer in the key set; it "
                                "keeps playing until a newer manifest is adopted").arg(s.activeVersion));
    } else {
        line(QStringLiteral("sync"), QStringLiteral("the agent has not reported yet"));
    }
    if (auto n = store.plays().count(); n) {
        auto dropped = store.plays().dropped();
        line(QStringLiteral("plays to upload"),
             QStringLiteral("%1 (%2 dropped by the cap)").arg(*n).arg(dropped ? *dropped : 0));
    }
    if (auto pending = store.commands().handovers("pending"); pending && !pending->empty()) {
        QStringList ids;
        for (const auto &h : *pending)
            ids << QString::fromStdString(h.id + " (" + h.type + ")");
        line(QStringLiteral("for the player"), ids.join(", "));
    }
    return out;
}

} // namespace stoa::tools
