// tests/player/sync_players.h — real stoa-player processes on one v1.1 §13
// synchronised playlist, and the switch instants read from their frame logs.
// Shared by tests/player/tst_sync_players.cpp (the <1 frame assertion) and
// bench/sync_accuracy.cpp (the distribution, beside an unsynchronised run).
//
// Each player is its own device: its own data directory (a copy of one
// store: same assets, same manifest) and its own Xvfb (xvfb-run -a, full
// screen on a small screen, so two llvmpipe renders fit on two cores). One
// host clock: the players' system clocks are the same clock, and their frame
// logs' stamps are the same CLOCK_MONOTONIC, so instants compare directly.
//
// A switch's instant is when the new item was presented: the first frame
// after the first scene sync that follows the frame log's switch line (the
// first frame that can show it; player/frame_log.h). Switches are paired
// across players by item (content key) and nearest instant.
#pragma once

#include "player_harness.h"
#include "process_probe.h"

#include "schedule/manifest.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <vector>

#include <signal.h>

namespace stoa::player::testing {

inline constexpr int kSyncSlotMs = 1000;
inline constexpr char kSyncEpoch[] = "2026-01-01T00:00:00Z";
inline const QColor kSyncColours[] = {Qt::red, Qt::green, Qt::blue, Qt::yellow};

// Makes the store at `dataDir`: four solid images, playlist "wall" of
// kSyncSlotMs slots, with `sync` (epoch kSyncEpoch) when `synced`. Returns
// the playlist as the schedule module models it (for syncSlotAt).
inline schedule::Playlist makeSyncStore(const QString &dataDir, const QString &mediaDir, bool synced)
{
    cache::StoreOptions so;
    so.dataDir = dataDir.toStdString();
    auto store = cache::Store::open(so);
    if (!store)
        qFatal("store: %s", store.error().message.c_str());
    QDir().mkpath(mediaDir);
    ContentBuilder content(**store, mediaDir);
    QJsonArray items;
    schedule::Playlist model;
    for (const QColor &c : kSyncColours) {
        items.append(item(content.solid(c), kSyncSlotMs));
        schedule::PlaylistItem it;
        it.durationMs = kSyncSlotMs;
        model.items.push_back(it);
    }
    QJsonObject wall = playlist(items);
    if (synced) {
        wall["sync"] = QJsonObject{{"epoch", kSyncEpoch}};
        model.sync = schedule::PlaylistSync{QDateTime::fromString(kSyncEpoch, Qt::ISODate)};
    }
    content.activate(content.manifest(1, {{"wall", wall}}, "wall"));
    return model;
}

// A second device with the same content: a copy of the (closed) store.
inline void copyStore(const QString &from, const QString &to)
{
    std::filesystem::copy(from.toStdString(), to.toStdString(), std::filesystem::copy_options::recursive);
}

// One stoa-player process (QProcess) under its own Xvfb; quits after `exitAfterMs`.
class XvfbPlayer {
public:
    XvfbPlayer(const QString &dataDir, const QString &frameLog, const QString &logFile, int exitAfterMs)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "xcb");
        env.remove("DISPLAY");
        m_process.setProcessEnvironment(env);
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.setStandardOutputFile(logFile);
        m_log = logFile;
        m_process.start("xvfb-run", {"-a", "-s", "-screen 0 480x270x24", QStringLiteral(STOA_PLAYER), "--data-dir",
                                     dataDir, "--device-id", "wall", "--config", "/dev/null", "--no-auto-diagnostics",
                                     "--listen", "127.0.0.1:0", "--exit-after", QString::number(exitAfterMs),
                                     "--frame-log", frameLog});
    }
    ~XvfbPlayer()
    {
        if (m_process.state() != QProcess::NotRunning && !stop(10000)) {
            m_process.terminate();
            if (!m_process.waitForFinished(10000)) {
                m_process.kill();
                m_process.waitForFinished(5000);
            }
        }
    }
    bool started() { return m_process.waitForStarted(10000); }
    bool finished(int timeoutMs)
    {
        return m_process.waitForFinished(timeoutMs) && m_process.exitStatus() == QProcess::NormalExit &&
               m_process.exitCode() == 0;
    }
    // Ends the player as systemd does (SIGTERM: it quits normally, writing
    // its frame log, and xvfb-run then stops its Xvfb) instead of waiting
    // for --exit-after; true as finished(). SIGTERM to xvfb-run itself would
    // kill only the shell: the player is its child.
    bool stop(int timeoutMs)
    {
        const qint64 shell = m_process.processId();
        QDirIterator tasks(QStringLiteral("/proc/%1/task").arg(shell), QDir::Dirs | QDir::NoDotAndDotDot);
        while (shell > 0 && tasks.hasNext()) {
            QFile children(tasks.next() + QStringLiteral("/children"));
            if (!children.open(QIODevice::ReadOnly))
                continue;
            for (const QByteArray &child : children.readAll().split(' ')) {
                QFile comm(QStringLiteral("/proc/%1/comm").arg(QString::fromLatin1(child.trimmed())));
                if (!child.trimmed().isEmpty() && comm.open(QIODevice::ReadOnly) &&
                    comm.readAll().trimmed() == "stoa-player")
                    ::kill(pid_t(child.trimmed().toLongLong()), SIGTERM);
            }
        }
        return finished(timeoutMs);
    }
    // The local endpoint's port once it serves (0: not yet).
    std::uint16_t port() const { return std::uint16_t(endpoints::testing::servingPort(readAll(m_log))); }
    QByteArray tail() const { return readAll(m_log).right(3000); }

private:
    QProcess m_process;
    QString m_log;
};

struct PresentedSwitch {
    qint64 us = 0;      // CLOCK_MONOTONIC microseconds of the first frame showing it
    qint64 sceneUs = 0; // ... of the switch line: when the player put it in the scene
    QString key;        // content key (sha256:...)
};

// The switches of a frame log with their presented instants; a switch with
// no frame after it (the player quit first), or replaced by the next switch
// before a frame could show it (a join whose first load overran its slot), is
// left out: no frame presented it.
inline std::vector<PresentedSwitch> presentedSwitches(const QString &path)
{
    static const QRegularExpression re(QStringLiteral("^(\\d+) (sync|frame|switch \\S+ (\\S+))$"));
    struct Ev {
        qint64 us;
        char what; // s(ync), f(rame), w (switch)
        QString key;
    };
    std::vector<Ev> evs;
    for (const QByteArray &raw : readAll(path).split('\n')) {
        const auto m = re.match(QString::fromUtf8(raw));
        if (!m.hasMatch())
            continue;
        const QString what = m.captured(2);
        evs.push_back({m.captured(1).toLongLong(), what == "sync" ? 's' : what == "frame" ? 'f' : 'w', m.captured(3)});
    }
    std::vector<PresentedSwitch> out;
    for (std::size_t i = 0; i < evs.size(); ++i) {
        if (evs[i].what != 'w' || evs[i].key == "idle")
            continue;
        // The first sync after the switch copies it to the render side (a
        // switch before that sync replaces it); the first frame after that
        // sync presents it.
        std::size_t j = i + 1;
        while (j < evs.size() && evs[j].what == 'f')
            ++j;
        if (j >= evs.size() || evs[j].what != 's')
            continue;
        while (j < evs.size() && evs[j].what != 'f')
            ++j;
        if (j < evs.size())
            out.push_back({evs[j].us, evs[i].us, evs[i].key});
    }
    return out;
}

// For every switch of `b` after its first (the join) the offset in ms to the
// switch of `a` to the same item nearest in time (b - a). Switches of `b`
// before `a`'s first or after `a`'s last are left out (nothing to pair).
inline std::vector<double> pairedOffsetsMs(const std::vector<PresentedSwitch> &a, const std::vector<PresentedSwitch> &b)
{
    std::vector<double> out;
    if (a.empty())
        return out;
    for (std::size_t i = 1; i < b.size(); ++i) {
        if (b[i].us < a.front().us || b[i].us > a.back().us)
            continue;
        std::optional<qint64> best;
        for (const auto &s : a)
            if (s.key == b[i].key && (!best || std::llabs(b[i].us - s.us) < std::llabs(*best)))
                best = b[i].us - s.us;
        if (best)
            out.push_back(double(*best) / 1000.0);
    }
    return out;
}

// UTC ms minus CLOCK_MONOTONIC ms, sampled now (to place frame-log instants in trusted time).
inline qint64 utcMinusMonoMs()
{
    const qint64 mono = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    return QDateTime::currentMSecsSinceEpoch() - mono;
}

} // namespace stoa::player::testing
