// tests/player/tst_display_control.cpp — display power in the player
// (offscreen): the manifest's `display` window followed by trusted time,
// display_on/off handed over through a real store, overrides, failures and
// retries, and the real vcgencmd method against a fake vcgencmd script.
//
// Time: the player's --fake-now clock (wall clock shifted, advancing with the
// monotonic clock), started 1.5 s before a window boundary, so the flip is
// observed for real through the one monotonic timer.
#include "fake_display_power.h"
#include "fake_root.h"
#include "fixtures.h"
#include "platform/rpi/display_power.h"
#include "player/command_runner.h"
#include "player/display_control.h"

#include <QTest>
#include <QTimeZone>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

const QTimeZone kOslo("Europe/Oslo");

// A local time in Oslo on 2026-11-23 (CET, UTC+1), or `day` days later.
QDateTime oslo(const QString &hhmmss, int day = 0)
{
    const QTime t = QTime::fromString(hhmmss, hhmmss.contains('.') ? "hh:mm:ss.zzz" : "hh:mm:ss");
    return QDateTime(QDate(2026, 11, 23).addDays(day), t, kOslo).toUTC();
}

// Delegates to a FakeDisplayPower and records the trusted time of each call.
class TimedPower final : public DisplayPower {
public:
    explicit TimedPower(FakeDisplayPower &fake) : m_fake(fake) {}
    QString method() const override { return m_fake.method(); }
    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        at.push_back(clock ? clock->now().utc : QDateTime());
        return m_fake.setPower(on);
    }
    schedule::TrustedClock *clock = nullptr;
    std::vector<QDateTime> at; // trusted UTC of each setPower call

private:
    FakeDisplayPower &m_fake;
};

// A real store, content builder and Playback (no scene: the manifests have no
// items, so the player sits on its idle screen state).
struct Rig {
    Rig()
    {
        if (!dir.isValid())
            qFatal("no temp dir");
        cache::StoreOptions so;
        so.dataDir = QDir(dir.path()).filePath("store").toStdString();
        auto s = cache::Store::open(so);
        if (!s)
            qFatal("store: %s", s.error().message.c_str());
        store = std::move(*s);
        QDir(dir.path()).mkpath("media");
        content = std::make_unique<ContentBuilder>(*store, QDir(dir.path()).filePath("media"));
    }

    // Activates an item-less manifest in Europe/Oslo with the given window
    // (no `display` when on is empty).
    void activate(qint64 version, const QString &on = {}, const QString &off = {})
    {
        QJsonObject m = content->manifest(version, {}, {});
        m["timezone"] = "Europe/Oslo";
        if (!on.isEmpty())
            m["display"] = QJsonObject{{"on", on}, {"off", off}};
        content->activate(m);
    }

    // Playback at fake trusted time `now`, DisplayControl over `power`, both
    // started as main does.
    void start(const QDateTime &now, DisplayPower &power)
    {
        PlaybackConfig config;
        config.deviceId = "test-screen";
        playback = std::make_unique<Playback>(*store, playerClocks(now), config);
        if (auto *timed = dynamic_cast<TimedPower *>(&power))
            timed->clock = &playback->clock();
        display = std::make_unique<DisplayControl>(*playback, power);
        runner = std::make_unique<CommandRunner>(*store, CommandRunner::Grabber{});
        runner->setDisplaySwitch([this](bool on) { return display->command(on); });
        playback->start();
        display->start();
    }

    // The handover `id` in `state` ("done", "failed"); nullopt if not there.
    std::optional<cache::CommandLog::Handover> handover(const std::string &id, const std::string &state)
    {
        auto list = store->commands().handovers(state);
        if (!list)
            return std::nullopt;
        for (const auto &h : *list)
            if (h.id == id)
                return h;
        return std::nullopt;
    }

    // Hands `type` over as the agent would and lets the runner carry it out.
    bool command(const std::string &id, const std::string &type)
    {
        auto handed = store->commands().handToPlayer(id, type);
        return handed && *handed && runner->check() == 1;
    }

    QTemporaryDir dir;
    std::unique_ptr<cache::Store> store;
    std::unique_ptr<ContentBuilder> content;
    std::unique_ptr<Playback> playback;
    std::unique_ptr<DisplayControl> display;
    std::unique_ptr<CommandRunner> runner;
};

using Calls = std::vector<bool>;

} // namespace

class DisplayControlTest : public QObject {
    Q_OBJECT
private slots:
    void stateAtStart_data();
    void stateAtStart();
    void flipsAtTheBoundary();
    void commandHeldAcrossManifest();
    void overrideEndsAtTheFlip();
    void failingCommand();
    void failureRetriedAtTheFlip();
    void manifestWithoutWindow();
    void notConfigured();
    void vcgencmdEndToEnd();
};

void DisplayControlTest::stateAtStart_data()
{
    QTest::addColumn<QString>("on");
    QTest::addColumn<QString>("off");
    QTest::addColumn<QString>("now");      // Oslo local time, 2026-11-23
    QTest::addColumn<bool>("expectOn");
    QTest::addColumn<QString>("nextFlip"); // Oslo local time; empty: none
    QTest::addColumn<int>("nextFlipDay");  // days after 2026-11-23

    QTest::addRow("before on") << "07:00" << "22:00" << "06:59:00" << false << "07:00:00" << 0;
    QTest::addRow("at on") << "07:00" << "22:00" << "07:00:00" << true << "22:00:00" << 0;
    QTest::addRow("inside") << "07:00" << "22:00" << "12:00:00" << true << "22:00:00" << 0;
    QTest::addRow("at off") << "07:00" << "22:00" << "22:00:00" << false << "07:00:00" << 1;
    QTest::addRow("wrapping, night") << "22:00" << "02:00" << "23:30:00" << true << "02:00:00" << 1;
    QTest::addRow("wrapping, day") << "22:00" << "02:00" << "12:00:00" << false << "22:00:00" << 0;
    QTest::addRow("no window") << "" << "" << "03:00:00" << true << "" << 0;
}

void DisplayControlTest::stateAtStart()
{
    QFETCH(QString, on);
    QFETCH(QString, off);
    QFETCH(QString, now);
    QFETCH(bool, expectOn);
    QFETCH(QString, nextFlip);
    QFETCH(int, nextFlipDay);
    Rig rig;
    rig.activate(1, on, off);
    FakeDisplayPower fake;
    rig.start(oslo(now), fake);
    // Set at start even when "on": the state the screen was left in is unknown.
    QCOMPARE(fake.calls, Calls{expectOn});
    QCOMPARE(rig.display->isOn(), std::optional(expectOn));
    QCOMPARE(rig.display->lastReport()->detail, expectOn ? QString("fake on") : QString("fake off"));
    QVERIFY(!rig.display->lastError());
    if (nextFlip.isEmpty())
        QVERIFY(!rig.display->nextFlip());
    else
        QCOMPARE(rig.display->nextFlip(), std::optional(oslo(nextFlip, nextFlipDay)));
}

void DisplayControlTest::flipsAtTheBoundary()
{
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    FakeDisplayPower fake;
    TimedPower power(fake);
    rig.start(oslo("21:59:58.500"), power);
    QCOMPARE(fake.calls, Calls{true});
    QCOMPARE(rig.display->nextFlip(), std::optional(oslo("22:00:00")));
    QTRY_COMPARE_WITH_TIMEOUT(fake.calls.size(), std::size_t(2), 15000);
    QCOMPARE(fake.calls, (Calls{true, false}));
    // Not before the boundary (by trusted time), and only once.
    QVERIFY2(power.at[1] >= oslo("22:00:00"), qPrintable(power.at[1].toString(Qt::ISODateWithMs)));
    QCOMPARE(rig.display->isOn(), std::optional(false));
    QCOMPARE(rig.display->lastReport()->detail, QString("fake off"));
    QCOMPARE(rig.display->nextFlip(), std::optional(oslo("07:00:00", 1)));
}

void DisplayControlTest::commandHeldAcrossManifest()
{
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    FakeDisplayPower fake;
    rig.start(oslo("12:00:00"), fake);
    QVERIFY(rig.command("off-1", "display_off"));
    QCOMPARE(fake.calls, (Calls{true, false}));
    const auto done = rig.handover("off-1", "done");
    QVERIFY(done);
    QVERIFY2(QString::fromStdString(done->result).startsWith("fake off; held until"), done->result.c_str());
    QVERIFY2(QString::fromStdString(done->result).contains("2026-11-23T21:00:00Z"), done->result.c_str());
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
    QCOMPARE(rig.display->isOn(), std::optional(false));
    // A new manifest (the command may well have come with it) does not undo it.
    rig.activate(2, "07:00", "22:00");
    rig.playback->checkForManifest();
    QCOMPARE(rig.playback->manifestVersion(), std::optional<std::int64_t>(2));
    QCOMPARE(fake.calls, (Calls{true, false}));
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
    QVERIFY(rig.command("on-1", "display_on"));
    QCOMPARE(fake.calls, (Calls{true, false, true}));
    QVERIFY(rig.handover("on-1", "done"));
    QCOMPARE(rig.display->isOn(), std::optional(true));
}

void DisplayControlTest::overrideEndsAtTheFlip()
{
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    FakeDisplayPower fake;
    TimedPower power(fake);
    rig.start(oslo("21:59:58.500"), power);
    // display_on while on: set again, and held only until 22:00.
    QVERIFY(rig.command("on-1", "display_on"));
    QCOMPARE(fake.calls, (Calls{true, true}));
    QCOMPARE(rig.display->manualOverride(), std::optional(true));
    QTRY_COMPARE_WITH_TIMEOUT(fake.calls.size(), std::size_t(3), 15000);
    QCOMPARE(fake.calls, (Calls{true, true, false}));
    QVERIFY(power.at[2] >= oslo("22:00:00"));
    QVERIFY(!rig.display->manualOverride());
    QCOMPARE(rig.display->isOn(), std::optional(false));
}

void DisplayControlTest::failingCommand()
{
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    FakeDisplayPower fake;
    rig.start(oslo("12:00:00"), fake);
    const QString status = rig.playback->statusLine();
    const bool idle = rig.playback->idle();
    fake.failWith = "vcgencmd: vcgencmd display_power 0 exited with 1: VCHI initialization failed";
    QVERIFY(rig.command("off-1", "display_off"));
    QCOMPARE(fake.calls, (Calls{true, false}));
    const auto failed = rig.handover("off-1", "failed");
    QVERIFY(failed);
    QCOMPARE(failed->result, fake.failWith);
    QCOMPARE(rig.display->lastError(), std::optional(fake.failWith));
    QVERIFY(!rig.display->isOn());           // unknown after a failure
    QVERIFY(!rig.display->manualOverride()); // a failed command holds nothing
    QCOMPARE(rig.display->lastReport()->detail, QString("fake on")); // the last success stays
    // Playback is not touched.
    QCOMPARE(rig.playback->statusLine(), status);
    QCOMPARE(rig.playback->idle(), idle);
    QCOMPARE(rig.playback->manifestVersion(), std::optional<std::int64_t>(1));
    // The next resolve (here: a new manifest) sets the wanted state again.
    fake.failWith.clear();
    rig.activate(2, "07:00", "22:00");
    rig.playback->checkForManifest();
    QCOMPARE(fake.calls, (Calls{true, false, true}));
    QVERIFY(!rig.display->lastError());
    QCOMPARE(rig.display->isOn(), std::optional(true));
}

void DisplayControlTest::failureRetriedAtTheFlip()
{
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    FakeDisplayPower fake;
    fake.failWith = "cec: Tx, Not Acknowledged (4)";
    rig.start(oslo("21:59:58.500"), fake);
    QCOMPARE(fake.calls, Calls{true});
    QCOMPARE(rig.display->lastError(), std::optional(fake.failWith));
    QVERIFY(!rig.display->isOn());
    fake.failWith.clear();
    QTRY_COMPARE_WITH_TIMEOUT(fake.calls.size(), std::size_t(2), 15000);
    QCOMPARE(fake.calls, (Calls{true, false}));
    QCOMPARE(fake.state, std::optional(false));
    QVERIFY(!rig.display->lastError());
}

void DisplayControlTest::manifestWithoutWindow()
{
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    FakeDisplayPower fake;
    rig.start(oslo("23:00:00"), fake);
    QCOMPARE(fake.calls, Calls{false});
    rig.activate(2); // no display window: always on
    rig.playback->checkForManifest();
    QCOMPARE(fake.calls, (Calls{false, true}));
    QVERIFY(!rig.display->nextFlip());
    QCOMPARE(rig.display->isOn(), std::optional(true));
    // A manifest that changes nothing for the screen sets nothing.
    rig.activate(3);
    rig.playback->checkForManifest();
    QCOMPARE(rig.playback->manifestVersion(), std::optional<std::int64_t>(3));
    QCOMPARE(fake.calls, (Calls{false, true}));
}

void DisplayControlTest::notConfigured()
{
    Rig rig;
    CommandRunner runner(*rig.store, CommandRunner::Grabber{});
    QVERIFY(*rig.store->commands().handToPlayer("on-1", "display_on"));
    QVERIFY(*rig.store->commands().handToPlayer("off-1", "display_off"));
    QCOMPARE(runner.check(), 2);
    for (const char *id : {"on-1", "off-1"}) {
        const auto failed = rig.handover(id, "failed");
        QVERIFY2(failed, id);
        QCOMPARE(failed->result, std::string("display control is not configured (display_power = none)"));
    }
}

void DisplayControlTest::vcgencmdEndToEnd()
{
    FakeRoot root;
    // Answers like the real tool: "display_power=<the requested state>".
    const QString vcgencmd = root.tool("vcgencmd", "echo \"display_power=$2\"");
    QVERIFY(!vcgencmd.isEmpty());
    platform::DisplayPowerOptions options;
    options.vcgencmdPath = vcgencmd;
    platform::ProcessRunner processes;
    auto power = platform::makeDisplayPower("vcgencmd", options, processes);
    QVERIFY2(power, power ? "" : power.error().c_str());

    Rig rig;
    rig.activate(1, "07:00", "22:00");
    rig.start(oslo("23:00:00"), **power);
    QCOMPARE(FakeRoot::argvOf(vcgencmd), (QStringList{"display_power", "0"}));
    QCOMPARE(rig.display->isOn(), std::optional(false));
    QCOMPARE(rig.display->lastReport()->detail, QString("vcgencmd display_power 0: display_power=0"));

    QVERIFY(rig.command("on-1", "display_on"));
    QCOMPARE(FakeRoot::argvOf(vcgencmd), (QStringList{"display_power", "1"}));
    const auto done = rig.handover("on-1", "done");
    QVERIFY(done);
    QVERIFY2(done->result.starts_with("vcgencmd display_power 1: display_power=1; held until"), done->result.c_str());

    // The tool failing (as without access to /dev/vchiq): the command fails
    // with the tool's words, the display keeps its last error.
    QVERIFY(root.tool("vcgencmd", "echo 'VCHI initialization failed' >&2; exit 1") == vcgencmd);
    QVERIFY(rig.command("off-1", "display_off"));
    const auto failed = rig.handover("off-1", "failed");
    QVERIFY(failed);
    QVERIFY2(failed->result.find("VCHI initialization failed") != std::string::npos, failed->result.c_str());
    QCOMPARE(rig.display->lastError(), std::optional(failed->result));
}

QTEST_GUILESS_MAIN(DisplayControlTest)
#include "tst_display_control.moc"
