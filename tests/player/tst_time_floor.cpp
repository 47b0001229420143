// tests/player/tst_time_floor.cpp — the player keeps spec §7's time floor on
// its own (a device with no agent, or an agent that is down, must not lose
// it), never lowers what another process saved, and saves it at shutdown.
#include "cache/store.h"
#include "player/clocks.h"
#include "player/playback.h"

#include <QTemporaryDir>
#include <QTest>

using namespace stoa;
using namespace stoa::player;

class TimeFloorTest : public QObject {
    Q_OBJECT

    static std::unique_ptr<cache::Store> open(const QString &dir)
    {
        cache::StoreOptions so;
        so.dataDir = dir.toStdString();
        so.limits.minFreeBytes = 0;
        auto s = cache::Store::open(so);
        if (!s)
            qFatal("store: %s", s.error().message.c_str());
        return std::move(*s);
    }
    static std::int64_t saved(cache::Store &store)
    {
        auto v = store.kv().getInt("time_floor_ms");
        return v && *v ? **v : 0;
    }

private slots:
    void playerSavesAndNeverLowersTheFloor()
    {
        QTemporaryDir dir;
        auto store = open(dir.path());
        const QDateTime synced = QDateTime::fromString("2031-03-01T12:00:00Z", Qt::ISODate);
        PlaybackConfig config;
        config.deviceId = "floor-test";
        {
            // A synchronised clock (--fake-now counts as NTP time): its time
            // becomes the floor and is saved at start.
            Playback playback(*store, playerClocks(synced), config);
            playback.start();
            QVERIFY(saved(*store) >= synced.toMSecsSinceEpoch());
        }
        const std::int64_t afterFirst = saved(*store);

        // Another writer (the agent) saved a later floor meanwhile.
        const std::int64_t agentFloor = afterFirst + 3600 * 1000;
        QVERIFY(store->kv().raise("time_floor_ms", agentFloor));

        {
            // An offline boot: the system clock is years behind and not
            // synchronised. The player schedules by the floor and never
            // writes its older time over the agent's.
            schedule::Clocks behind = playerClocks(std::nullopt, [] { return false; });
            behind.systemUtcMs = [] { return QDateTime::fromString("2020-01-01T00:00:00Z", Qt::ISODate).toMSecsSinceEpoch(); };
            Playback playback(*store, behind, config);
            playback.start();
            const auto now = playback.clock().now();
            QVERIFY(!now.trusted);
            QVERIFY(now.utc.toMSecsSinceEpoch() >= agentFloor);
        } // destroyed: saved at shutdown
        QVERIFY2(saved(*store) >= agentFloor, qPrintable(QString::number(saved(*store))));
        QVERIFY(saved(*store) < agentFloor + 60 * 1000); // advanced by the monotonic time that passed, no more
    }
};

QTEST_GUILESS_MAIN(TimeFloorTest)
#include "tst_time_floor.moc"
