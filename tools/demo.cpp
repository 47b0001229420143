#include "tools/demo.h"

#include "cache/store.h"
#include "schedule/keys.h"
#include "sync/agent.h"
#include "publish/publish.h"
#include "tools/store_report.h"

#include <QColor>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QTimeZone>

namespace stoa::tools {

namespace {

// A 1280x720 slide: a colour field with a band, distinct per slide.
bool writeSlide(const QString &path, QColor background, QColor band)
{
    QImage img(1280, 720, QImage::Format_RGB32);
    img.fill(background);
    QPainter p(&img);
    p.fillRect(0, 560, 1280, 100, band);
    p.end();
    return img.save(path, "PNG");
}

const char *kSchedule = R"(# The Stoa demo: a lobby loop, and a different loop every evening.
timezone = %1
default = lobby

[playlist lobby]
welcome.png  5s
menu.png     5s cover
offers.png   5s

[playlist evening]
offers.png   8s

[window evening]
playlist = evening
time = 18:00-23:00
priority = 10
)";

} // namespace

std::expected<QString, publish::Error> runDemo(const QString &dir)
{
    QDir root(dir);
    for (const char *sub : {"keys", "source", "site", "store"})
        if (!root.mkpath(sub))
            return std::unexpected(publish::ioError("cannot create " + root.filePath(sub)));

    // 1. A demo signing key (the operator's offline root key, in real life).
    auto key = schedule::PrivateKey::generate();
    if (!key)
        return std::unexpected(publish::invalid(key.error().reason));
    const QString pub = root.filePath("keys/demo.pub");
    QFile::remove(root.filePath("keys/demo.key"));
    QFile::remove(pub);
    if (auto ok = schedule::writeKeyPairPem(*key, root.filePath("keys/demo.key"), pub); !ok)
        return std::unexpected(publish::ioError(ok.error().reason));

    // 2. The operator's source: media and a schedule file.
    const bool slides = writeSlide(root.filePath("source/welcome.png"), QColor(0x1f, 0x6f, 0xb2), Qt::white) &&
                        writeSlide(root.filePath("source/menu.png"), QColor(0x2e, 0x9e, 0x5b), Qt::black) &&
                        writeSlide(root.filePath("source/offers.png"), QColor(0xd9, 0x7b, 0x29), Qt::white);
    if (!slides)
        return std::unexpected(publish::ioError("cannot write the demo images under " + root.filePath("source")));
    QFile schedule(root.filePath("source/schedule.ini"));
    const QByteArray zone = QTimeZone::systemTimeZoneId().isEmpty() ? QByteArray("UTC") : QTimeZone::systemTimeZoneId();
    if (!schedule.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        schedule.write(QString::fromLatin1(kSchedule).arg(QString::fromLatin1(zone)).toUtf8()) < 0)
        return std::unexpected(publish::ioError("cannot write " + schedule.fileName()));
    schedule.close();

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
    report += QStringLiteral("the sync agent adopted it from %1\n\n").arg(QString::fromStdString(config.server));
    report += describeStore(**store, QDateTime::currentDateTimeUtc());
    report += QStringLiteral("\nTry: stoa status --data-dir %1\n     stoa inspect %2\n")
                  .arg(root.filePath("store"), root.filePath("site"));
    return report;
}

} // namespace stoa::tools
