// tests/player/tst_sync_players.cpp — v1.1 §13 synchronised playlists on
// real players (issue 20, "Sync"): two stoa-player processes, each its own
// device (own store copy, own Xvfb), one host clock, one synchronised
// playlist of four colour images in 1 s slots.
//
//  - twoPlayersSwitchTogether: player A starts; player B is started in the
//    middle of a slot (and comes up at whatever point of a slot its start
//    takes). From both frame logs: B's first item is the one whose slot
//    holds the instant it entered B's scene (schedule::syncSlotAt: the join
//    picks by slot, not from the playlist's start) or, when loading it
//    overran its slot (a cold start), the slot before's, replaced by the
//    slot's own within that slot; and over at least 50
//    later switches each of B's is paired with A's switch to the same item:
//    |B - A| < 40 ms (one frame period at 25 fps). Without the change
//    (both players picking round-robin from their own start) the pairs are
//    hundreds of ms apart (bench/sync_accuracy's baseline: docs/benchmarks.md).
//    A's /status reports sync.state "synchronised".
//  - untrustedClockReportsUnsynchronised: a third device whose time floor
//    (kv time_floor_ms) is an hour ahead of the system clock (spec §7:
//    trusted = false) plays the playlist and reports sync.state
//    "unsynchronised" and clock.trusted false in /status.
// RUN_SERIAL: the <1 frame bound is between two render loops sharing the
// machine's two cores. The sanitizer build (ASan + UBSan at -O0) is there to
// find memory errors; its two players render slowly enough on two cores to
// miss a frame or two now and then (CI's asan stages: 1 of 58 switches 74 ms
// apart, then 1 of 58 at 84 ms; the default build's runs of the same commits
// all under 40 ms). There the rule is what "synchronised" means when frames
// can be dropped: the median pair under one frame period, at most 1 in 20
// pairs beyond two frame periods and none beyond five. Round-robin pairs sit
// at one constant offset, hundreds of ms, and fail all three.
#include "raw_http_client.h"
#include "sync_players.h"
#include "wait_until.h"

#include "schedule/timing.h"

#include <QJsonDocument>
#include <QTest>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace stoa;
using namespace stoa::player::testing;
using stoa::testing::waitUntil;
using namespace std::chrono_literals;

namespace {

QJsonObject status(std::uint16_t port)
{
    return QJsonDocument::fromJson(QByteArray::fromStdString(endpoints::testing::get(port, "/status").body)).object();
}

constexpr int kSwitches = 50;
constexpr double kFramePeriodMs = 40.0;
// Every pair within kBoundMs but kOutliersPer20 in 20, which stay within
// kOutlierBoundMs; and the median pair within one frame period.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kBoundMs = 2 * kFramePeriodMs;
constexpr int kOutliersPer20 = 1;
constexpr double kOutlierBoundMs = 5 * kFramePeriodMs;
#else
constexpr double kBoundMs = kFramePeriodMs;
constexpr int kOutliersPer20 = 0;
constexpr double kOutlierBoundMs = kFramePeriodMs;
#endif

} // namespace

class SyncPlayersTest : public QObject {
    Q_OBJECT
private slots:
    void twoPlayersSwitchTogether();
    void untrustedClockReportsUnsynchronised();
};

void SyncPlayersTest::twoPlayersSwitchTogether()
{
    QTemporaryDir work;
    QVERIFY(work.isValid());
    work.setAutoRemove(!qEnvironmentVariableIsSet("STOA_KEEP_WORK"));
    const QDir w(work.path());
    const schedule::Playlist wall = makeSyncStore(w.filePath("a"), w.filePath("media"), true);
    copyStore(w.filePath("a"), w.filePath("b"));

    // B runs kSwitches + 6 slots after it is up; A from before B to after it.
    const int bRunMs = (kSwitches + 8) * kSyncSlotMs;
    XvfbPlayer a(w.filePath("a"), w.filePath("a.frames"), w.filePath("a.log"), bRunMs + 25000);
    QVERIFY(a.started());
    std::uint16_t portA = 0;
    QVERIFY2(waitUntil([&] { return (portA = a.port()) != 0; }, 60s), a.tail().constData());
    QJsonObject sA;
    QVERIFY2(waitUntil([&] { return !(sA = status(portA)).value("now_playing").toObject().value("asset").isNull(); },
                       30s),
             a.tail().constData());
    QVERIFY2(waitUntil([&] {
                 return status(portA).value("sync").toObject().value("state").toString() == "synchronised";
             }, 10s),
             qPrintable(QJsonDocument(status(portA)).toJson()));

    // B is started in the middle of a slot.
    QVERIFY(waitUntil([] { return std::abs(QDateTime::currentMSecsSinceEpoch() % kSyncSlotMs - 500) < 50; }, 5s, 20ms));
    XvfbPlayer b(w.filePath("b"), w.filePath("b.frames"), w.filePath("b.log"), bRunMs);
    QVERIFY(b.started());
    QVERIFY2(b.finished(bRunMs + 60000), b.tail().constData());
    // A's --exit-after is only a bound (its start-up time is unknown when it
    // starts): A is stopped once it has switched after B's end, which is
    // after B's last switch, so each of B's switches has A's around it.
    const QString lastA = status(portA).value("now_playing").toObject().value("asset").toString();
    QVERIFY2(waitUntil([&] { return status(portA).value("now_playing").toObject().value("asset").toString() != lastA; },
                       std::chrono::milliseconds(3 * kSyncSlotMs), 20ms),
             a.tail().constData());
    QVERIFY2(a.stop(60000), a.tail().constData());
    const qint64 utcMinusMono = utcMinusMonoMs();

    const auto sa = presentedSwitches(w.filePath("a.frames"));
    const auto sb = presentedSwitches(w.filePath("b.frames"));
    QVERIFY2(sb.size() > std::size_t(kSwitches), qPrintable(QStringLiteral("B switched %1 times").arg(sb.size())));

    // The join: B's first item is the slot's at the instant B put it in the
    // scene (not at its first frame: Xvfb's first render on a cold machine
    // is not the player's choice) ...
    const auto slotAt = [&](qint64 monoUs) { return schedule::syncSlotAt(wall, monoUs / 1000 + utcMinusMono); };
    const auto keyOf = [&](std::size_t index) {
        // Both players show the items in manifest order: A's switches name them.
        for (const auto &s : sa)
            if (const auto at = slotAt(s.us + 20000); at && at->index == index)
                return s.key;
        return QString();
    };
    const auto joinSlot = slotAt(sb.front().sceneUs);
    QVERIFY(joinSlot);
    qInfo("B joined %lld ms into slot %zu (first frame %lld ms later)", static_cast<long long>(joinSlot->offsetMs),
          joinSlot->index, static_cast<long long>((sb.front().us - sb.front().sceneUs) / 1000));
    // Within 40 ms of a boundary the instant's slot is ambiguous to the sampled clock offset.
    if (joinSlot->offsetMs > 40 && joinSlot->offsetMs < kSyncSlotMs - 40 && sb.front().key != keyOf(joinSlot->index)) {
        // ... or, when loading it overran the slot it was planned for (a
        // cold start), that slot's item and, within the slot it came in,
        // a switch to that slot's item.
        const std::size_t n = wall.items.size();
        QCOMPARE(sb.front().key, keyOf((joinSlot->index + n - 1) % n));
        QVERIFY(sb.size() > 1);
        const auto next = slotAt(sb[1].sceneUs);
        QVERIFY(next);
        QCOMPARE(next->index, joinSlot->index);
        QCOMPARE(sb[1].key, keyOf(joinSlot->index));
        qInfo("B's first item came %lld ms after its slot ended; the slot's own followed %lld ms later",
              static_cast<long long>(joinSlot->offsetMs),
              static_cast<long long>((sb[1].sceneUs - sb.front().sceneUs) / 1000));
    }

    const std::vector<double> offsets = pairedOffsetsMs(sa, sb);
    QVERIFY2(offsets.size() >= std::size_t(kSwitches),
             qPrintable(QStringLiteral("%1 paired switches").arg(offsets.size())));
    std::vector<double> magnitudes;
    for (double d : offsets)
        magnitudes.push_back(std::abs(d));
    std::sort(magnitudes.begin(), magnitudes.end());
    const double worst = magnitudes.back();
    const double median = magnitudes[magnitudes.size() / 2];
    const auto over = std::count_if(magnitudes.begin(), magnitudes.end(), [](double d) { return d >= kBoundMs; });
    qInfo("%zu switches paired: median |B - A| %.1f ms, worst %.1f ms, %lld at %.0f ms or more", offsets.size(),
          median, worst, static_cast<long long>(over), kBoundMs);
    QVERIFY2(median < kFramePeriodMs, qPrintable(QStringLiteral("median pair %1 ms apart").arg(median)));
    QVERIFY2(over * 20 <= kOutliersPer20 * std::ssize(magnitudes),
             qPrintable(QStringLiteral("%1 of %2 switches %3 ms or more apart (worst %4 ms)")
                            .arg(over)
                            .arg(offsets.size())
                            .arg(kBoundMs)
                            .arg(worst)));
    QVERIFY2(worst < kOutlierBoundMs,
             qPrintable(QStringLiteral("worst pair %1 ms apart").arg(worst)));
}

void SyncPlayersTest::untrustedClockReportsUnsynchronised()
{
    QTemporaryDir work;
    QVERIFY(work.isValid());
    const QDir w(work.path());
    (void)makeSyncStore(w.filePath("c"), w.filePath("media"), true);
    {
        cache::StoreOptions so;
        so.dataDir = w.filePath("c").toStdString();
        auto store = cache::Store::open(so);
        QVERIFY(store);
        // Spec §7: the system clock an hour behind the floor is not trusted.
        QVERIFY((*store)->kv().setInt("time_floor_ms", QDateTime::currentMSecsSinceEpoch() + 3600 * 1000));
    }
    XvfbPlayer c(w.filePath("c"), w.filePath("c.frames"), w.filePath("c.log"), 60000);
    QVERIFY(c.started());
    std::uint16_t port = 0;
    QVERIFY2(waitUntil([&] { return (port = c.port()) != 0; }, 60s), c.tail().constData());
    QJsonObject s;
    QVERIFY2(waitUntil([&] {
                 s = status(port);
                 return !s.value("now_playing").toObject().value("asset").isNull() &&
                        s.value("sync").toObject().contains("state");
             }, 30s),
             qPrintable(QJsonDocument(s).toJson() + c.tail()));
    QCOMPARE(s.value("clock").toObject().value("trusted").toBool(true), false);
    QCOMPARE(s.value("sync").toObject().value("state").toString(), QStringLiteral("unsynchronised"));
    // It plays (unsynchronised, as an ordinary playlist): the item changes.
    const QString first = s.value("now_playing").toObject().value("asset").toString();
    QVERIFY2(waitUntil([&] { return status(port).value("now_playing").toObject().value("asset").toString() != first; },
                       10s),
             c.tail().constData());
}

QTEST_GUILESS_MAIN(SyncPlayersTest)
#include "tst_sync_players.moc"
