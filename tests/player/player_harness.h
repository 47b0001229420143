// tests/player/player_harness.h — content and a running player for the player tests.
//
// ContentBuilder makes real media (solid-colour PNGs with QImage, colour
// videos with the ffmpeg command line), imports them into a real store and
// activates signed manifests (a key generated per run, schedule::signEnvelope)
// exactly as the sync agent would leave them. PlayerHarness runs the real
// Playback + QML scene in a window (tests that look at pixels run under Xvfb,
// see run-xvfb.sh) with an injected clock.
#pragma once

#include <malloc.h>

#include "cache/blob_writer.h"
#include "cache/store.h"
#include "player/clocks.h"
#include "player/playback.h"
#include "player/shell.h"
#include "schedule/envelope.h"
#include "schedule/keys.h"

#include "process_probe.h"

#include <QColor>
#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QQuickItem>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <unistd.h>

namespace stoa::player::testing {

struct Media {
    QString name;      // digest.ref(): "sha256:<hex>"
    schedule::Digest digest;
    qint64 size = 0;
    QString mediaType;
};

inline QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

class ContentBuilder {
public:
    ContentBuilder(cache::Store &store, QString workDir) : m_store(store), m_dir(std::move(workDir))
    {
        auto key = schedule::PrivateKey::generate();
        if (!key)
            qFatal("key generation failed");
        m_key = std::make_unique<schedule::PrivateKey>(*key);
    }

    Media bytes(const QByteArray &content, const QString &mediaType)
    {
        const QString path = QDir(m_dir).filePath(QStringLiteral("media-%1").arg(m_counter++));
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(content) != content.size())
            qFatal("cannot write %s", qPrintable(path));
        f.close();
        return importFile(path, mediaType);
    }

    // `format` as QImageWriter names it: "PNG", "JPEG", "WEBP" (the last needs
    // qt6-image-formats-plugins, as the player does).
    Media image(const QImage &img, const char *format = "PNG")
    {
        const QString suffix = QString::fromLatin1(format).toLower();
        const QString path = QDir(m_dir).filePath(QStringLiteral("image-%1.%2").arg(m_counter++).arg(suffix));
        if (!img.save(path, format))
            qFatal("cannot write %s", qPrintable(path));
        return importFile(path, QStringLiteral("image/") + suffix);
    }

    Media solid(const QColor &colour, QSize size = {320, 180})
    {
        QImage img(size, QImage::Format_RGB32);
        img.fill(colour);
        return image(img);
    }

    // A video of one solid colour (ffmpeg lavfi), H.264 in MP4.
    Media video(const QString &colour, double seconds, QSize size = {320, 180})
    {
        const QString path = QDir(m_dir).filePath(QStringLiteral("video-%1.mp4").arg(m_counter++));
        QProcess ffmpeg;
        ffmpeg.start(QStringLiteral("ffmpeg"),
                     {"-v", "error", "-y", "-f", "lavfi", "-i",
                      QStringLiteral("color=c=%1:s=%2x%3:d=%4:r=25").arg(colour).arg(size.width()).arg(size.height()).arg(seconds),
                      "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path});
        if (!ffmpeg.waitForFinished(60000) || ffmpeg.exitCode() != 0)
            qFatal("ffmpeg failed: %s", ffmpeg.readAllStandardError().constData());
        return importFile(path, QStringLiteral("video/mp4"));
    }

    QByteArray fileOf(const Media &m)
    {
        auto path = m_store.blobs().find(m.digest);
        return path && *path ? readAll(QString::fromStdString((*path)->string())) : QByteArray();
    }

    // Signs `payload` (a §3 manifest) and makes it the store's active manifest.
    void activate(const QJsonObject &payload)
    {
        if (auto ok = m_store.manifests().activate(signedManifest(payload)); !ok)
            qFatal("activate failed: %s", ok.error().message.c_str());
    }
    // ... or its staged one (as the agent leaves it while blobs download).
    void stage(const QJsonObject &payload)
    {
        if (auto ok = m_store.manifests().stage(signedManifest(payload)); !ok)
            qFatal("stage failed: %s", ok.error().message.c_str());
    }
    cache::StoredManifest signedManifest(const QJsonObject &payload)
    {
        const QByteArray json = QJsonDocument(payload).toJson(QJsonDocument::Compact);
        std::vector<schedule::PrivateKey> keys{*m_key};
        auto env = schedule::signEnvelope(schedule::kManifestPayloadType, json, keys);
        if (!env)
            qFatal("signing failed");
        cache::StoredManifest stored;
        stored.version = payload.value("version").toInteger();
        stored.envelope = env->toStdString();
        const QJsonObject assets = payload.value("assets").toObject();
        for (auto it = assets.begin(); it != assets.end(); ++it)
            stored.assets.push_back(*schedule::Digest::fromRef(it.key().toStdString()));
        return stored;
    }

    // A manifest declaring every medium made so far.
    QJsonObject manifest(qint64 version, const QJsonObject &playlists, const QString &defaultPlaylist,
                         const QJsonArray &schedule = {}, const QJsonObject &settings = {})
    {
        QJsonObject assets;
        for (const auto &[name, m] : m_media)
            assets[name] = QJsonObject{{"size", m.size}, {"media_type", m.mediaType}};
        QJsonObject o{{"schema", 1}, {"version", version}, {"issued_at", "2020-01-01T00:00:00Z"},
                      {"expires_at", "2099-01-01T00:00:00Z"}, {"devices", QJsonArray{"*"}},
                      {"timezone", "Etc/UTC"}, {"assets", assets}, {"playlists", playlists},
                      {"schedule", schedule}};
        if (!defaultPlaylist.isEmpty())
            o["default_playlist"] = defaultPlaylist;
        if (!settings.isEmpty())
            o["settings"] = settings;
        return o;
    }

private:
    Media importFile(const QString &path, const QString &mediaType)
    {
        auto info = cache::importFile(m_store.blobs(), m_store.space(), path.toStdString());
        if (!info)
            qFatal("import failed: %s", info.error().message.c_str());
        Media m{QString::fromStdString(info->digest.ref()), info->digest, qint64(info->size), mediaType};
        m_media.insert_or_assign(m.name, m);
        return m;
    }

    cache::Store &m_store;
    QString m_dir;
    std::unique_ptr<schedule::PrivateKey> m_key;
    std::map<QString, Media> m_media;
    int m_counter = 0;
};

inline QJsonObject item(const Media &m, int durationMs = -1, const QString &fit = {})
{
    QJsonObject o{{"asset", m.name}};
    if (durationMs >= 0)
        o["duration_ms"] = durationMs;
    if (!fit.isEmpty())
        o["fit"] = fit;
    return o;
}

inline QJsonObject playlist(const QJsonArray &items)
{
    return QJsonObject{{"items", items}};
}

// Within `tolerance` on every channel (video is YUV: colours come back approximate).
inline bool near(const QColor &a, const QColor &b, int tolerance = 40)
{
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
           std::abs(a.blue() - b.blue()) <= tolerance;
}

inline const QColor kIdleColour(0x16, 0x20, 0x2b); // qml/Main.qml window colour

// A real store in a temporary directory (store/) and a ContentBuilder
// writing its media beside it (media/): what a player under test plays from.
// Whatever holds the store (a Playback) is declared after these members, in
// a class that derives from this one, so it is destroyed before the store.
struct ContentStore {
    ContentStore()
    {
        if (!m_dir.isValid())
            qFatal("no temp dir");
        cache::StoreOptions so;
        so.dataDir = QDir(m_dir.path()).filePath("store").toStdString();
        auto s = cache::Store::open(so);
        if (!s)
            qFatal("store: %s", s.error().message.c_str());
        store = std::move(*s);
        QDir(m_dir.path()).mkpath("media");
        content = std::make_unique<ContentBuilder>(*store, QDir(m_dir.path()).filePath("media"));
    }

    QTemporaryDir m_dir;
    std::unique_ptr<cache::Store> store;
    std::unique_ptr<ContentBuilder> content;
};

// The real player (Playback + Shell) on a temporary store.
class PlayerHarness : public ContentStore {
public:

    // Makes the player and shows its window, not yet playing: for tests that
    // attach something (a frame log) before the first item; `fakeNow` as
    // --fake-now.
    bool show(std::optional<QDateTime> fakeNow = std::nullopt, PlaybackConfig config = {})
    {
        if (config.deviceId.empty())
            config.deviceId = "test-screen";
        playback = std::make_unique<Playback>(*store, playerClocks(fakeNow), config);
        shell = std::make_unique<Shell>(*store, *playback);
        if (!shell->load())
            return false;
        shell->show(false);
        return QTest::qWaitForWindowExposed(shell->window());
    }

    // Starts the player; `fakeNow` as --fake-now.
    bool start(std::optional<QDateTime> fakeNow = std::nullopt, PlaybackConfig config = {})
    {
        if (!show(fakeNow, std::move(config)))
            return false;
        playback->start();
        return true;
    }

    QImage grab() { return shell->grab(); }
    QColor pixel(double fx = 0.5, double fy = 0.5)
    {
        const QImage img = grab();
        return img.pixelColor(int(fx * (img.width() - 1)), int(fy * (img.height() - 1)));
    }

    // The plays in the store, once the player's writer has written what it
    // recorded so far (it writes off the GUI thread, store_writer.h).
    std::vector<cache::PlayRecord> plays()
    {
        if (playback && !playback->playRecorder().flush(std::chrono::seconds(30)))
            qWarning("the player's store writer did not drain in 30 s");
        auto b = store->plays().batch(100000);
        return b ? *b : std::vector<cache::PlayRecord>{};
    }

    // The reason logged with the first play that did not complete, if any:
    // tests whose every item should have played assert there is none.
    std::optional<std::string> firstIncompletePlay()
    {
        for (const auto &p : plays())
            if (!p.completed)
                return p.reason.value_or("(no reason)");
        return std::nullopt;
    }

    QString dataDir() const { return QString::fromStdString(store->dataDir().string()); }

    std::unique_ptr<Playback> playback;
    std::unique_ptr<Shell> shell;
};

// The item named `name` (its objectName) in the scene below `root`, depth
// first; null when there is none.
inline QQuickItem *findItem(QQuickItem *root, const QString &name)
{
    if (!root)
        return nullptr;
    if (root->objectName() == name)
        return root;
    for (QQuickItem *child : root->childItems())
        if (QQuickItem *found = findItem(child, name))
            return found;
    return nullptr;
}

// Every switch: which content came on, when (monotonic ms), and which slot
// was shown after it (0 or 1; -1: neither).
struct SwitchLog {
    std::vector<std::pair<std::string, qint64>> entries;
    std::vector<int> shownSlot;
    QElapsedTimer clock;
    explicit SwitchLog(Playback &p)
    {
        clock.start();
        QObject::connect(&p, &Playback::switched, &p, [this, &p] {
            entries.emplace_back(p.current() ? p.current()->key : std::string("idle"), clock.elapsed());
            shownSlot.push_back(p.slotA()->shown() ? 0 : p.slotB()->shown() ? 1 : -1);
        });
    }
    std::vector<std::string> keys() const
    {
        std::vector<std::string> k;
        for (const auto &e : entries)
            k.push_back(e.first);
        return k;
    }
};

// Counts moments when, with content playing, both slots are hidden at once.
struct DarkWatch {
    int darkMoments = 0;
    explicit DarkWatch(Playback &p)
    {
        for (MediaSlot *s : {p.slotA(), p.slotB()})
            QObject::connect(s, &MediaSlot::shownChanged, s, [this, &p] {
                if (!p.idle() && !p.slotA()->shown() && !p.slotB()->shown())
                    ++darkMoments;
            });
    }
};

// Samples the centre pixel every few ms: what the viewer saw.
struct PixelSampler {
    std::vector<QColor> samples;
    QTimer timer;
    PixelSampler(PlayerHarness &h, int everyMs)
    {
        QObject::connect(&timer, &QTimer::timeout, &timer, [this, &h] { samples.push_back(h.pixel()); });
        timer.start(everyMs);
    }
    // The samples from the first one that is not the idle screen on.
    std::vector<QColor> fromContent() const
    {
        auto it = std::find_if(samples.begin(), samples.end(), [](const QColor &c) { return !near(c, kIdleColour, 10); });
        return {it, samples.end()};
    }
};

// VmRSS of process `pid` ("self": this one) in kB; -1 when unreadable.
inline qint64 rssKb(const QString &pid = QStringLiteral("self"))
{
    return stoa::endpoints::testing::procStatusKiB(pid, "VmRSS");
}

// VmRSS of this process after glibc handed its free memory back
// (malloc_trim): what live allocations hold, not what the allocator keeps
// cached. Without it the soaks' readings moved by ±5 MB between runs with
// no trend (3,000 transitions: -2.6 MB; one 600-transition run in ten:
// +5.4 MB), which is allocator state, not a leak; a leak is live memory and
// still shows.
inline qint64 trimmedRssKb()
{
    malloc_trim(0);
    return rssKb();
}

// VmRSS of this process and its descendants (QtWebEngineProcess and its
// zygote's children) summed, in kB.
inline qint64 treeRssKb()
{
    qint64 total = 0;
    QStringList pending{QString::number(getpid())};
    while (!pending.isEmpty()) {
        const QString pid = pending.takeLast();
        total += std::max<qint64>(0, rssKb(pid));
        QDirIterator tasks(QStringLiteral("/proc/%1/task").arg(pid), QDir::Dirs | QDir::NoDotAndDotDot);
        while (tasks.hasNext()) {
            QFile children(tasks.next() + QStringLiteral("/children"));
            if (children.open(QIODevice::ReadOnly))
                for (const QByteArray &child : children.readAll().split(' '))
                    if (!child.trimmed().isEmpty())
                        pending << QString::fromLatin1(child.trimmed());
        }
    }
    return total;
}

// For the soaks: the lowest `reading()` taken after each transition until
// `until` transitions were made. Memory swings by several MB within one
// round of a playlist (a pipeline or a page alive or not), so each end of a
// soak is read as a minimum over a window, the same phase every time.
// -1 when no transition came within `perTransitionMs`.
inline qint64 lowestOverTransitions(Playback &playback, qint64 until, const std::function<qint64()> &reading,
                                    int perTransitionMs)
{
    qint64 lowest = std::numeric_limits<qint64>::max();
    while (playback.transitions() < until) {
        const qint64 seen = playback.transitions();
        if (!QTest::qWaitFor([&] { return playback.transitions() > seen; }, perTransitionMs))
            return -1;
        lowest = std::min(lowest, reading());
    }
    return lowest;
}

} // namespace stoa::player::testing
