// tests/schedule/tst_timing.cpp — how long items, playlist cycles and layout
// turns last (v1.1 §12), and the slot of a synchronised playlist at a
// trusted instant (v1.1 §13): exact slots worked out by hand, joining
// mid-slot, instants before the epoch, and a brute-force walk of the slots
// that the modulo arithmetic must agree with.
#include "schedule/timing.h"

#include <QTest>

#include <algorithm>
#include <limits>
#include <random>

using namespace stoa::schedule;

namespace {

const Digest kImage = *Digest::fromHex(std::string(64, 'a'));
const Digest kVideo = *Digest::fromHex(std::string(64, 'b'));

PlaylistItem assetItem(const Digest &ref, std::optional<std::int64_t> durationMs = std::nullopt)
{
    PlaylistItem item;
    item.asset = ref;
    item.durationMs = durationMs;
    return item;
}

PlaylistItem textItem(std::optional<std::int64_t> durationMs = std::nullopt)
{
    PlaylistItem item;
    item.text = TextItem{QStringLiteral("Doors close at 22:00"), false, Rgb{255, 255, 255}, std::nullopt};
    item.durationMs = durationMs;
    return item;
}

PlaylistItem urlItem(std::optional<std::int64_t> durationMs = std::nullopt)
{
    PlaylistItem item;
    item.url = QStringLiteral("https://example.com/menu");
    item.durationMs = durationMs;
    return item;
}

Manifest withAssets()
{
    Manifest m;
    m.assets[kImage] = Asset{100, "image/png"};
    m.assets[kVideo] = Asset{100, "video/mp4"};
    return m;
}

const QDateTime kEpoch = QDateTime::fromString(QStringLiteral("2026-11-01T00:00:00Z"), Qt::ISODate);

// A synchronised playlist of images lasting `durations` ms each.
Playlist syncPlaylist(const std::vector<std::int64_t> &durations, const QDateTime &epoch = kEpoch)
{
    Playlist p;
    for (const std::int64_t d : durations)
        p.items.push_back(assetItem(kImage, d));
    p.sync = PlaylistSync{epoch};
    return p;
}

} // namespace

class TestTiming : public QObject {
    Q_OBJECT

private slots:
    void itemLengths()
    {
        const Manifest m = withAssets();
        QCOMPARE(itemLengthMs(m, assetItem(kImage)), std::optional<std::int64_t>(kDefaultItemMs));
        QCOMPARE(itemLengthMs(m, assetItem(kImage, 3000)), std::optional<std::int64_t>(3000));
        QCOMPARE(itemLengthMs(m, assetItem(kVideo)), std::nullopt); // to its end: the player's to know
        QCOMPARE(itemLengthMs(m, assetItem(kVideo, 7000)), std::optional<std::int64_t>(7000));
        QCOMPARE(itemLengthMs(m, textItem()), std::optional<std::int64_t>(kDefaultItemMs));
        QCOMPARE(itemLengthMs(m, textItem(4000)), std::optional<std::int64_t>(4000));
        QCOMPARE(itemLengthMs(m, urlItem()), std::optional<std::int64_t>(kDefaultItemMs));
        PlaylistItem stream;
        stream.stream = QStringLiteral("rtsp://cam/1");
        stream.durationMs = 30000;
        QCOMPARE(itemLengthMs(m, stream), std::optional<std::int64_t>(30000));
        QCOMPARE(kDefaultItemMs, std::int64_t(10000));
    }

    void cyclesAndLayoutTurns()
    {
        Manifest m = withAssets();
        // lobby: image (default 10 s) + video of 20 s + text of 5 s = 35 s.
        m.playlists["lobby"].items = {assetItem(kImage), assetItem(kVideo, 20000), textItem(5000)};
        // promo: image 8 s + web page without duration (10 s) = 18 s.
        m.playlists["promo"].items = {assetItem(kImage, 8000), urlItem()};
        // clips: a video played to its end, and a 2 s image.
        m.playlists["clips"].items = {assetItem(kVideo), assetItem(kImage, 2000)};
        m.playlists["empty"];
        const auto region = [](const char *id, const char *playlist) {
            return Region{id, FractionRect{}, 0, playlist};
        };
        m.layouts["menu"].regions = {region("main", "lobby"), region("side", "promo")};
        m.layouts["wall"].regions = {region("a", "promo"), region("b", "clips")};
        m.layouts["blank"].regions = {region("a", "empty")};

        QCOMPARE(playlistCycleMs(m, "lobby"), std::int64_t(35000));
        QCOMPARE(playlistCycleMs(m, "promo"), std::int64_t(18000));
        QCOMPARE(playlistCycleMs(m, "empty"), std::int64_t(0));
        QCOMPARE(playlistCycleMs(m, "nope"), std::int64_t(0));
        // The longest region decides the turn.
        QCOMPARE(layoutTurnMs(m, "menu"), std::int64_t(35000));
        QCOMPARE(layoutTurnMs(m, "blank"), std::int64_t(0));
        QCOMPARE(layoutTurnMs(m, "nope"), std::int64_t(0));

        // A video to its end: the caller's length when known, else 10 s.
        QCOMPARE(playlistCycleMs(m, "clips"), std::int64_t(12000));
        QCOMPARE(layoutTurnMs(m, "wall"), std::int64_t(18000));
        int asked = 0;
        const OpenItemLength probed = [&](const PlaylistItem &item) -> std::optional<std::int64_t> {
            ++asked;
            return item.asset == kVideo ? std::optional<std::int64_t>(42000) : std::nullopt;
        };
        QCOMPARE(playlistCycleMs(m, "clips", probed), std::int64_t(44000));
        QCOMPARE(asked, 1); // only items whose length the manifest leaves open
        QCOMPARE(layoutTurnMs(m, "wall", probed), std::int64_t(44000));
        const OpenItemLength unknown = [](const PlaylistItem &) { return std::optional<std::int64_t>(); };
        QCOMPARE(playlistCycleMs(m, "clips", unknown), std::int64_t(12000));

        // Sums saturate instead of wrapping round.
        const std::int64_t max = std::numeric_limits<std::int64_t>::max();
        m.playlists["long"].items = {assetItem(kImage, max), assetItem(kImage, max)};
        QCOMPARE(playlistCycleMs(m, "long"), max);
    }

    // Durations 3 s, 5 s, 2 s: a 10 s cycle from the epoch E.
    void syncSlots_data()
    {
        QTest::addColumn<qint64>("sinceEpochMs"); // t - E
        QTest::addColumn<int>("index");
        QTest::addColumn<qint64>("offsetMs");
        QTest::addColumn<qint64>("nextSinceEpochMs");
        QTest::newRow("at the epoch") << qint64(0) << 0 << qint64(0) << qint64(3000);
        QTest::newRow("last ms of the first slot") << qint64(2999) << 0 << qint64(2999) << qint64(3000);
        QTest::newRow("at the first boundary") << qint64(3000) << 1 << qint64(0) << qint64(8000);
        QTest::newRow("joining mid-slot") << qint64(7500) << 1 << qint64(4500) << qint64(8000);
        QTest::newRow("the last slot") << qint64(9999) << 2 << qint64(1999) << qint64(10000);
        QTest::newRow("a new cycle") << qint64(10000) << 0 << qint64(0) << qint64(13000);
        QTest::newRow("a thousand cycles later, mid-slot") << qint64(10'000'000 + 4000) << 1 << qint64(1000) << qint64(10'008'000);
        QTest::newRow("a year later") << qint64(365) * 86'400'000 + 8500 << 2 << qint64(500) << qint64(365) * 86'400'000 + 10000;
        QTest::newRow("1 ms before the epoch") << qint64(-1) << 2 << qint64(1999) << qint64(0);
        QTest::newRow("one cycle before the epoch") << qint64(-10000) << 0 << qint64(0) << qint64(-7000);
        QTest::newRow("before the epoch, mid-slot") << qint64(-2500) << 1 << qint64(4500) << qint64(-2000);
        QTest::newRow("long before the epoch") << qint64(-10'000'000 - 6000) << 1 << qint64(1000) << qint64(-10'000'000 - 2000);
    }
    void syncSlots()
    {
        QFETCH(qint64, sinceEpochMs);
        QFETCH(int, index);
        QFETCH(qint64, offsetMs);
        QFETCH(qint64, nextSinceEpochMs);
        const std::int64_t e = kEpoch.toMSecsSinceEpoch();
        const auto slot = syncSlotAt(syncPlaylist({3000, 5000, 2000}), e + sinceEpochMs);
        QVERIFY(slot.has_value());
        QCOMPARE(slot->index, std::size_t(index));
        QCOMPARE(slot->offsetMs, offsetMs);
        QCOMPARE(slot->slotStartMs, e + sinceEpochMs - offsetMs);
        QCOMPARE(slot->nextBoundaryMs, e + nextSinceEpochMs);
    }

    // Two devices started at different instants (one mid-slot, one before
    // the epoch) switch at the same instants: walking boundary to boundary
    // from each start meets every slot start of a brute-force walk.
    void devicesJoiningAnywhereAgree()
    {
        const std::vector<std::int64_t> durations{1234, 40, 5000, 1, 777};
        const std::int64_t cycle = 1234 + 40 + 5000 + 1 + 777;
        const Playlist p = syncPlaylist(durations);
        const std::int64_t e = kEpoch.toMSecsSinceEpoch();

        // Brute force: slot starts from three cycles before the epoch.
        std::vector<std::pair<std::int64_t, std::size_t>> starts; // instant, index
        for (std::int64_t t = e - 3 * cycle; t < e + 4 * cycle;)
            for (std::size_t i = 0; i < durations.size(); ++i) {
                starts.emplace_back(t, i);
                t += durations[i];
            }

        std::mt19937_64 rng(20);
        std::uniform_int_distribution<std::int64_t> anywhere(e - 3 * cycle, e + 2 * cycle);
        for (int device = 0; device < 200; ++device) {
            std::int64_t t = anywhere(rng);
            auto slot = syncSlotAt(p, t);
            QVERIFY(slot.has_value());
            // The slot holding t is the brute-force slot that started last at or before t.
            auto holding = std::upper_bound(starts.begin(), starts.end(), std::pair{t, std::size_t(99)}) - 1;
            QCOMPARE(slot->slotStartMs, holding->first);
            QCOMPARE(slot->index, holding->second);
            QVERIFY(slot->nextBoundaryMs > t);
            // Follow the device through a cycle of switches.
            for (std::size_t step = 0; step < durations.size(); ++step) {
                ++holding;
                QCOMPARE(slot->nextBoundaryMs, holding->first);
                slot = syncSlotAt(p, slot->nextBoundaryMs);
                QVERIFY(slot.has_value());
                QCOMPARE(slot->index, holding->second);
                QCOMPARE(slot->offsetMs, std::int64_t(0));
            }
        }
    }

    void notASyncSlot()
    {
        const std::int64_t e = kEpoch.toMSecsSinceEpoch();
        Playlist plain = syncPlaylist({1000});
        plain.sync.reset();
        QVERIFY(!syncSlotAt(plain, e));
        QVERIFY(!syncSlotAt(syncPlaylist({}), e));
        Playlist untimed = syncPlaylist({1000, 1000});
        untimed.items[1].durationMs.reset();
        QVERIFY(!syncSlotAt(untimed, e));
        // Far enough from the epoch that t - epoch leaves int64: no answer, no overflow.
        const QDateTime early = QDateTime::fromString(QStringLiteral("0001-01-01T00:00:00Z"), Qt::ISODate);
        QVERIFY(!syncSlotAt(syncPlaylist({1000}, early), std::numeric_limits<std::int64_t>::max()));
        // A single item: every boundary is a cycle.
        const auto one = syncSlotAt(syncPlaylist({60000}), e + 90000);
        QVERIFY(one.has_value());
        QCOMPARE(one->index, std::size_t(0));
        QCOMPARE(one->offsetMs, std::int64_t(30000));
        QCOMPARE(one->nextBoundaryMs, e + 120000);
    }
};

QTEST_GUILESS_MAIN(TestTiming)
#include "tst_timing.moc"
