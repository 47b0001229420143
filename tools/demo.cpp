#include "tools/demo.h"

#include "cache/store.h"
#include "schedule/keys.h"
#include "sync/agent.h"
#include "publish/publish.h"
#include "tools/demo_content.h"
#include "tools/store_report.h"

#include <QDir>
#include <QFile>
#include <QTimeZone>

namespace stoa::tools {

namespace {

// The build-time content (demo_content.h) into the source directory, the
// schedule template filled in for this machine and this key.
std::expected<void, publish::Error> writeSource(const QDir &sourceDir, const schedule::PrivateKey &key)
{
    const QDir content(QString::fromLatin1(kDemoResourceDir));
    const QStringList files = content.entryList(QDir::Files);
    if (!files.contains(QLatin1String(publish::kSourceFileName)))
        return std::unexpected(publish::invalid(QStringLiteral("this build holds no demo content (%1)")
                                                    .arg(QString::fromLatin1(kDemoResourceDir))));
    for (const QString &name : files) {
        const QString to = sourceDir.filePath(name);
        QFile::remove(to);
        if (name == QLatin1String(publish::kSourceFileName))
            continue;
        if (!QFile::copy(content.filePath(name), to))
            return std::unexpected(publish::ioError("cannot write " + to));
    }
    QFile in(content.filePath(QLatin1String(publish::kSourceFileName)));
    if (!in.open(QIODevice::ReadOnly))
        return std::unexpected(publish::ioError("cannot read " + in.fileName()));
    // The clock's epoch: the last local midnight (a DST change since then
    // shifts the clock by an hour until the next demo; each demo is fresh).
    const QByteArray zone = QTimeZone::systemTimeZoneId().isEmpty() ? QByteArray("UTC") : QTimeZone::systemTimeZoneId();
    const QDateTime midnight(QDate::currentDate(), QTime(0, 0), QTimeZone(zone));
    QFile out(sourceDir.filePath(QLatin1String(publish::kSourceFileName)));
    const QByteArray text = fillDemoSchedule(in.readAll(), zone, midnight,
                                             QByteArray::fromStdString(key.publicKey().keyId()));
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate) || out.write(text) != text.size())
        return std::unexpected(publish::ioError("cannot write " + out.fileName()));
    return {};
}

} // namespace

std::expected<QString, publish::Error> runDemo(const QString &dir)
{
    QDir root(dir);
    for (const char *sub : {"keys", "source", "site", "store"})
        if (!root.mkpath(sub))
            return std::unexpected(publish::ioError("cannot create " + root.filePath(sub)));

    // 1. A demo signing key (the operator's offline root key, in real life).
    // Signed here, at run time, not at build time with the content: a
    // build-time signature would need a private key in the build tree and
    // the packages (anyone holding it could sign for screens that trust
    // it), and its manifest would expire 30 days after the build
    // (kDefaultManifestLifetimeMs). A fresh key per demo is trusted by
    // nothing but this demo's store, and signing takes milliseconds.
    auto key = schedule::PrivateKey::generate();
    if (!key)
        return std::unexpected(publish::invalid(key.error().reason));
    const QString pub = root.filePath("keys/demo.pub");
    QFile::remove(root.filePath("keys/demo.key"));
    QFile::remove(pub);
    if (auto ok = schedule::writeKeyPairPem(*key, root.filePath("keys/demo.key"), pub); !ok)
        return std::unexpected(publish::ioError(ok.error().reason));

    // 2. The operator's source: the media and the schedule made at build time.
    if (auto written = writeSource(QDir(root.filePath("source")), *key); !written)
        return std::unexpected(written.error());

    // 3. Publish: a static site any web server (or a USB stick) can serve.
    publish::PublishOptions po;
    po.source = root.filePath("source");
    po.site = root.filePath("site");
    auto published = publish::publishSite(po, *key);
    if (!published)
        return std::unexpected(published.error());

    // 4. The real sync agent adopts it from file://, into a fresh store.
    cache::StoreOptions so;
    so.dataDir = root.filePath("store").toStdString();
    auto store = cache::Store::open(so);
    if (!store)
        return std::unexpected(publish::ioError(QString::fromStdString(store.error().message)));
    sync::AgentConfig config;
    config.server = "file://" + QDir(root.filePath("site")).absolutePath().toStdString();
    config.dataDir = so.dataDir.string();
    config.syncInterval = sync::Millis(500);
    config.backoff = {sync::Millis(100), sync::Millis(1000)};
    sync::HttpClient http({});
    auto roots = schedule::loadPublicKeysPemFile(pub);
    if (!roots)
        return std::unexpected(publish::invalid(roots.error().reason));
    schedule::TrustedClock clock(schedule::Clocks::system(), std::nullopt);
    sync::Agent agent(config, "demo-screen", **store, http, schedule::TrustStore(*roots), clock, 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        agent.step(now);
        if (agent.status().activeVersion == published->version)
            break;
        if (now > deadline)
            return std::unexpected(publish::invalid("the sync agent did not adopt the demo site: " +
                                           QString::fromStdString(agent.status().lastResult)));
        std::this_thread::sleep_until(std::min(deadline, now + std::chrono::milliseconds(50)));
    }

    QString report;
    report += QStringLiteral("published version %1 to %2 (%3 blobs), signed by %4\n")
                  .arg(published->version)
                  .arg(root.filePath("site"))
                  .arg(published->blobsWritten + published->blobsReused)
                  .arg(QString::fromStdString(published->keyId));
    report += QStringLiteral("the sync agent adopted it from %1 (signature and every blob verified)\n\n").arg(QString::fromStdString(config.server));
    report += describeStore(**store, QDateTime::currentDateTimeUtc());
    report += QStringLiteral("\nTry: stoa status --data-dir %1\n     stoa inspect %2\n")
                  .arg(root.filePath("store"), root.filePath("site"));
    return report;
}

} // namespace stoa::tools
