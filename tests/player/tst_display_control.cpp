// tests/player/tst_display_control.cpp — display power in the player
// (offscreen): the manifest's `display` window followed by trusted time,
// display_on/off handed over through a real store, overrides, failures and
// retries, and the real vcgencmd method against a fake vcgencmd script.
//
// Every switch runs on DisplayControl's worker thread (issue 15): tests wait
// for outcomes (a signal, or a poll with a deadline), and a held fake shows
// what happens while a switch is on its way: the GUI thread runs on, commands
// finish only when their outcome comes, each is started once, in order.
//
// Time: the player's --fake-now clock (wall clock shifted, advancing with the
// monotonic clock), started 1.5 s before a window boundary, so the flip is
// observed for real through the one monotonic timer.
#include "fake_display_power.h"
#include "fake_root.h"
#include "player_harness.h"
#include "platform/rpi/display_power.h"
#include "player/command_runner.h"
#include "player/display_control.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <QTimeZone>

#include <mutex>

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
// Called on the worker thread: the time comes from the fake wall clock's own
// function (thread-safe: the monotonic clock shifted), which is trusted time
// here (--fake-now counts as NTP-synchronised), not from TrustedClock.
class TimedPower final : public DisplayPower {
public:
    explicit TimedPower(FakeDisplayPower &fake) : m_fake(fake) {}
    QString method() const override { return m_fake.method(); }
    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        {
            std::lock_guard lock(m_mutex);
            m_at.push_back(utcMs ? QDateTime::fromMSecsSinceEpoch(utcMs(), Qt::UTC) : QDateTime());
            m_threads.push_back(QThread::currentThread());
        }
        return m_fake.setPower(on);
    }
    QDateTime at(std::size_t i) const
    {
        std::lock_guard lock(m_mutex);
        return i < m_at.size() ? m_at[i] : QDateTime();
    }
    std::vector<QThread *> threads() const
    {
        std::lock_guard lock(m_mutex);
        return m_threads;
    }
    std::function<std::int64_t()> utcMs; // set before start, then only read

private:
    FakeDisplayPower &m_fake;
    mutable std::mutex m_mutex;
    std::vector<QDateTime> m_at;       // trusted UTC of each setPower call
    std::vector<QThread *> m_threads;  // the thread of each call
};

// A real store, content builder and Playback (no scene: the manifests have no
// items, so the player sits on its idle screen state).
struct Rig : ContentStore {
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
        schedule::Clocks clocks = playerClocks(now);
        if (auto *timed = dynamic_cast<TimedPower *>(&power))
            timed->utcMs = clocks.systemUtcMs;
        playback = std::make_unique<Playback>(*store, clocks, config);
        display = std::make_unique<DisplayControl>(*playback, power);
        runner = std::make_unique<CommandRunner>(*store, CommandRunner::Grabber{});
        runner->setDisplaySwitch([this](bool on, CommandRunner::DisplayDone done) {
            display->command(on, std::move(done));
        });
        playback->start();
        display->start();
    }

    // Every switch asked has finished, and every display command with it
    // (a poll with a deadline: the worker reports through the event loop).
    bool settle(int timeoutMs = 10000)
    {
        return QTest::qWaitFor([this] { return display->switchesPending() == 0 && runner->running() == 0; },
                               timeoutMs);
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

    // Hands `type` over as the agent would and lets the runner take it up;
    // does not wait for the outcome.
    bool handOver(const std::string &id, const std::string &type)
    {
        auto handed = store->commands().handToPlayer(id, type);
        return handed && *handed && runner->check() == 1;
    }

    // handOver, then waits until the handover is finished (done or failed).
    bool command(const std::string &id, const std::string &type)
    {
        QSignalSpy finished(runner.get(), &CommandRunner::handoverFinished);
        if (!handOver(id, type))
            return false;
        const auto isMine = [&] {
            for (const auto &args : finished)
                if (args.at(0).toString().toStdString() == id)
                    return true;
            return false;
        };
        return QTest::qWaitFor(isMine, 10000) && settle();
    }

    // The display goes first: its destructor joins the worker, which may be
    // inside the test's DisplayPower (declared before the Rig, so alive).
    ~Rig()
    {
        display.reset();
    }

    std::unique_ptr<Playback> playback;
    std::unique_ptr<DisplayControl> display;
    std::unique_ptr<CommandRunner> runner;
};

using Calls = std::vector<bool>;

// Releases a held fake when the test function returns, so a failing check
// does not leave the worker (and the Rig's destructor) waiting for ever.
struct ReleaseAtEnd {
    FakeDisplayPower &fake;
    ~ReleaseAtEnd() { fake.release(); }
};

// For display commands that meet a switch on its way: a Rig in the
// 07:00-22:00 window over `fake`. Members in this order: the fake outlives
// the Rig (its destructor joins a worker that may be inside the fake), and
// the releaser dies first, so that worker is never left blocked.
struct HeldRig {
    FakeDisplayPower fake;
    Rig rig;
    ReleaseAtEnd releaser{fake};

    // Starts at Oslo time `now`, lets the first switch finish, then holds the
    // fake (setPower blocks, as vcgencmd may for up to 5 s); false when the
    // first switch did not finish.
    bool startThenHold(const QString &now)
    {
        rig.activate(1, "07:00", "22:00");
        rig.start(oslo(now), fake);
        if (!rig.settle())
            return false;
        fake.hold();
        return true;
    }
};

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
    // Issue 15: nothing blocks the GUI thread.
    void switchRunsOffTheGuiThread();
    void commandFinishesWhenTheSwitchDoes();
    void commandsKeepTheirOrder();
    void restartWaitsForDisplayCommands();
    void manifestDuringACommand();
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
    FakeDisplayPower fake;
    Rig rig;
    rig.activate(1, on, off);
    rig.start(oslo(now), fake);
    // The window is resolved at once; the switch finishes on the worker.
    if (nextFlip.isEmpty())
        QVERIFY(!rig.display->nextFlip());
    else
        QCOMPARE(rig.display->nextFlip(), std::optional(oslo(nextFlip, nextFlipDay)));
    QVERIFY(rig.settle());
    // Set at start even when "on": the state the screen was left in is unknown.
    QCOMPARE(fake.calls(), Calls{expectOn});
    QCOMPARE(rig.display->isOn(), std::optional(expectOn));
    QCOMPARE(rig.display->lastReport()->detail, expectOn ? QString("fake on") : QString("fake off"));
    QVERIFY(!rig.display->lastError());
}

void DisplayControlTest::flipsAtTheBoundary()
{
    FakeDisplayPower fake;
    TimedPower power(fake);
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    rig.start(oslo("21:59:58.500"), power);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), Calls{true});
    QCOMPARE(rig.display->nextFlip(), std::optional(oslo("22:00:00")));
    QTRY_COMPARE_WITH_TIMEOUT(fake.calls().size(), std::size_t(2), 15000);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{true, false}));
    // Not before the boundary (by trusted time), and only once.
    QVERIFY2(power.at(1) >= oslo("22:00:00"), qPrintable(power.at(1).toString(Qt::ISODateWithMs)));
    QCOMPARE(rig.display->isOn(), std::optional(false));
    QCOMPARE(rig.display->lastReport()->detail, QString("fake off"));
    QCOMPARE(rig.display->nextFlip(), std::optional(oslo("07:00:00", 1)));
    // Both ran on the worker, not on this (the GUI) thread.
    for (QThread *t : power.threads())
        QVERIFY(t != QThread::currentThread());
}

void DisplayControlTest::commandHeldAcrossManifest()
{
    FakeDisplayPower fake;
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    rig.start(oslo("12:00:00"), fake);
    QVERIFY(rig.command("off-1", "display_off"));
    QCOMPARE(fake.calls(), (Calls{true, false}));
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
    QCOMPARE(rig.display->switchesPending(), 0); // nothing asked
    QCOMPARE(fake.calls(), (Calls{true, false}));
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
    QVERIFY(rig.command("on-1", "display_on"));
    QCOMPARE(fake.calls(), (Calls{true, false, true}));
    QVERIFY(rig.handover("on-1", "done"));
    QCOMPARE(rig.display->isOn(), std::optional(true));
}

void DisplayControlTest::overrideEndsAtTheFlip()
{
    FakeDisplayPower fake;
    TimedPower power(fake);
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    rig.start(oslo("21:59:58.500"), power);
    // display_on while on: set again, and held only until 22:00.
    QVERIFY(rig.command("on-1", "display_on"));
    QCOMPARE(fake.calls(), (Calls{true, true}));
    QCOMPARE(rig.display->manualOverride(), std::optional(true));
    QTRY_COMPARE_WITH_TIMEOUT(fake.calls().size(), std::size_t(3), 15000);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{true, true, false}));
    QVERIFY(power.at(2) >= oslo("22:00:00"));
    QVERIFY(!rig.display->manualOverride());
    QCOMPARE(rig.display->isOn(), std::optional(false));
}

void DisplayControlTest::failingCommand()
{
    FakeDisplayPower fake;
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    rig.start(oslo("12:00:00"), fake);
    QVERIFY(rig.settle());
    const QString status = rig.playback->statusLine();
    const bool idle = rig.playback->idle();
    const std::string error = "vcgencmd: vcgencmd display_power 0 exited with 1: VCHI initialization failed";
    fake.failWith(error);
    QVERIFY(rig.command("off-1", "display_off"));
    QCOMPARE(fake.calls(), (Calls{true, false}));
    const auto failed = rig.handover("off-1", "failed");
    QVERIFY(failed);
    QCOMPARE(failed->result, error);
    QCOMPARE(rig.display->lastError(), std::optional(error));
    QVERIFY(!rig.display->isOn());           // unknown after a failure
    QVERIFY(!rig.display->manualOverride()); // a failed command holds nothing
    QCOMPARE(rig.display->lastReport()->detail, QString("fake on")); // the last success stays
    // Playback is not touched.
    QCOMPARE(rig.playback->statusLine(), status);
    QCOMPARE(rig.playback->idle(), idle);
    QCOMPARE(rig.playback->manifestVersion(), std::optional<std::int64_t>(1));
    // The next resolve (here: a new manifest) sets the wanted state again.
    fake.failWith({});
    rig.activate(2, "07:00", "22:00");
    rig.playback->checkForManifest();
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{true, false, true}));
    QVERIFY(!rig.display->lastError());
    QCOMPARE(rig.display->isOn(), std::optional(true));
}

void DisplayControlTest::failureRetriedAtTheFlip()
{
    FakeDisplayPower fake;
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    const std::string error = "cec: Tx, Not Acknowledged (4)";
    fake.failWith(error);
    rig.start(oslo("21:59:58.500"), fake);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), Calls{true});
    QCOMPARE(rig.display->lastError(), std::optional(error));
    QVERIFY(!rig.display->isOn());
    fake.failWith({});
    QTRY_COMPARE_WITH_TIMEOUT(fake.calls().size(), std::size_t(2), 15000);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{true, false}));
    QCOMPARE(fake.state(), std::optional(false));
    QVERIFY(!rig.display->lastError());
}

void DisplayControlTest::manifestWithoutWindow()
{
    FakeDisplayPower fake;
    Rig rig;
    rig.activate(1, "07:00", "22:00");
    rig.start(oslo("23:00:00"), fake);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), Calls{false});
    rig.activate(2); // no display window: always on
    rig.playback->checkForManifest();
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{false, true}));
    QVERIFY(!rig.display->nextFlip());
    QCOMPARE(rig.display->isOn(), std::optional(true));
    // A manifest that changes nothing for the screen sets nothing.
    rig.activate(3);
    rig.playback->checkForManifest();
    QCOMPARE(rig.playback->manifestVersion(), std::optional<std::int64_t>(3));
    QCOMPARE(rig.display->switchesPending(), 0);
    QCOMPARE(fake.calls(), (Calls{false, true}));
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
    QVERIFY(rig.settle());
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

void DisplayControlTest::switchRunsOffTheGuiThread()
{
    FakeDisplayPower fake;
    TimedPower power(fake);
    Rig rig;
    ReleaseAtEnd releaser{fake}; // destroyed before the Rig joins the worker
    rig.activate(1, "07:00", "22:00");
    fake.hold(); // setPower blocks, as vcgencmd for up to 5 s
    QElapsedTimer elapsed;
    elapsed.start();
    rig.start(oslo("12:00:00"), power);
    QVERIFY2(elapsed.elapsed() < 1000, qPrintable(QString::number(elapsed.elapsed())));
    // The switch is under way on the worker while this thread runs its
    // event loop: a 20 ms timer fires ten times in a row.
    QTRY_COMPARE(fake.calls().size(), std::size_t(1));
    QCOMPARE(power.threads().size(), std::size_t(1));
    QVERIFY(power.threads().front() != QThread::currentThread());
    int ticks = 0;
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, [&ticks] { ++ticks; });
    tick.start(20);
    QTRY_VERIFY(ticks >= 10);
    QCOMPARE(rig.display->switchesPending(), 1);
    QVERIFY(!rig.display->isOn()); // nothing finished yet: unknown
    QSignalSpy switched(rig.display.get(), &DisplayControl::switched);
    fake.release();
    QVERIFY(switched.wait(5000));
    QCOMPARE(rig.display->isOn(), std::optional(true));
    QCOMPARE(rig.display->switchesPending(), 0);
}

void DisplayControlTest::commandFinishesWhenTheSwitchDoes()
{
    HeldRig held;
    QVERIFY(held.startThenHold("12:00:00"));
    auto &[fake, rig, releaser] = held;
    QSignalSpy finished(rig.runner.get(), &CommandRunner::handoverFinished);
    QVERIFY(rig.handOver("off-1", "display_off"));
    QTRY_COMPARE(fake.calls(), (Calls{true, false}));
    // Taken up, not finished: the store still says pending until the outcome.
    QVERIFY(rig.handover("off-1", "pending"));
    QCOMPARE(rig.runner->running(), 1);
    QCOMPARE(finished.count(), 0);
    // At most once: later checks (the store's change signal, the 5 s
    // fallback) pass over it while it runs.
    QCOMPARE(rig.runner->check(), 0);
    QCOMPARE(rig.runner->check(), 0);
    QCOMPARE(fake.calls(), (Calls{true, false}));
    fake.release();
    QVERIFY(finished.wait(5000));
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(0).toString(), QString("off-1"));
    QCOMPARE(finished.at(0).at(1).toBool(), true);
    const auto done = rig.handover("off-1", "done");
    QVERIFY(done);
    QVERIFY2(done->result.starts_with("fake off; held until the display window's next change at "),
             done->result.c_str());
    QVERIFY(!rig.handover("off-1", "pending"));
    QCOMPARE(rig.runner->check(), 0);
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{true, false})); // once, ever
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
}

void DisplayControlTest::commandsKeepTheirOrder()
{
    HeldRig held;
    QVERIFY(held.startThenHold("12:00:00"));
    auto &[fake, rig, releaser] = held;
    // The store gives handovers by (created_at, id), created_at in seconds:
    // ids that sort in hand-over order keep this test off a second boundary.
    QVERIFY(*rig.store->commands().handToPlayer("c1-off", "display_off"));
    QVERIFY(*rig.store->commands().handToPlayer("c2-on", "display_on"));
    QVERIFY(*rig.store->commands().handToPlayer("c3-off", "display_off"));
    QCOMPARE(rig.runner->check(), 3);
    QCOMPARE(rig.runner->running(), 3);
    QCOMPARE(rig.display->switchesPending(), 3);
    fake.release();
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{true, false, true, false}));
    for (const char *id : {"c1-off", "c2-on", "c3-off"})
        QVERIFY2(rig.handover(id, "done"), id);
    QCOMPARE(rig.display->isOn(), std::optional(false));
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
}

void DisplayControlTest::restartWaitsForDisplayCommands()
{
    HeldRig held;
    QVERIFY(held.startThenHold("12:00:00"));
    auto &[fake, rig, releaser] = held;
    QSignalSpy restart(rig.runner.get(), &CommandRunner::restartRequested);
    QVERIFY(*rig.store->commands().handToPlayer("off-1", "display_off"));
    QVERIFY(*rig.store->commands().handToPlayer("restart-1", "restart_player"));
    QCOMPARE(rig.runner->check(), 2);
    QVERIFY(rig.handover("restart-1", "done"));
    QTRY_COMPARE(fake.calls().size(), std::size_t(2));
    // The player would exit now and leave display_off pending: it waits.
    QCOMPARE(restart.count(), 0);
    fake.release();
    QVERIFY(restart.wait(5000));
    QCOMPARE(restart.count(), 1);
    QVERIFY(rig.handover("off-1", "done")); // written before the restart
}

void DisplayControlTest::manifestDuringACommand()
{
    // A manifest that drops the window arrives while display_off runs: the
    // schedule does not switch on behind the command's back; the override
    // (no window: held until the next command) is in force when it ends.
    HeldRig held;
    QVERIFY(held.startThenHold("23:00:00"));
    auto &[fake, rig, releaser] = held;
    QCOMPARE(fake.calls(), Calls{false});
    QVERIFY(rig.handOver("off-1", "display_off"));
    QTRY_COMPARE(fake.calls().size(), std::size_t(2));
    rig.activate(2); // no window: the schedule alone would want "on"
    rig.playback->checkForManifest();
    QCOMPARE(rig.display->switchesPending(), 1); // deferred, not queued
    QVERIFY(!rig.display->nextFlip());
    fake.release();
    QVERIFY(rig.settle());
    QCOMPARE(fake.calls(), (Calls{false, false}));
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
    QCOMPARE(rig.display->isOn(), std::optional(false));
    const auto done = rig.handover("off-1", "done");
    QVERIFY(done);
    QVERIFY2(done->result.ends_with("held until the next display command (no display window)"), done->result.c_str());

    // A failing command with a manifest deferred behind it: the resolve it
    // missed runs when it fails, and asks for the wanted state (the held
    // "off"; the screen's state is unknown after the failure).
    fake.hold();
    fake.failWith("fake: no answer");
    QVERIFY(rig.handOver("on-1", "display_on"));
    QTRY_COMPARE(fake.calls().size(), std::size_t(3));
    rig.activate(3, "07:00", "22:00");
    rig.playback->checkForManifest();
    QCOMPARE(rig.display->switchesPending(), 1);
    fake.release();
    QVERIFY(rig.settle());
    QVERIFY(rig.handover("on-1", "failed"));
    QCOMPARE(fake.calls(), (Calls{false, false, true, false}));
    QCOMPARE(rig.display->manualOverride(), std::optional(false));
    QCOMPARE(rig.display->lastError(), std::optional(std::string("fake: no answer")));
}

QTEST_GUILESS_MAIN(DisplayControlTest)
#include "tst_display_control.moc"
