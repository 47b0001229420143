// tests/platform/tst_display_power.cpp — display power methods through the REAL
// ProcessRunner against fake vcgencmd / cec-ctl scripts (they record their
// argv and print what the real tools print), and the drm method against a
// fake /sys/class/drm tree with an injected DPMS switch.
#include "platform/rpi/tool_runner.h"
#include "platform/rpi/display_power.h"

#include "fake_root.h"

#include <QElapsedTimer>
#include <QTest>

using namespace stoa::platform;
using namespace std::chrono_literals;

namespace {

// What cec-ctl (v4l-utils) prints for one transmit: the adapter, then the message block.
const QByteArray kCecHeader = "Driver Info:\n"
                              "\tDriver Name                : vc4_hdmi\n"
                              "\tAdapter Name               : vc4-hdmi-0\n"
                              "\tPhysical Address           : 1.0.0.0\n"
                              "\tLogical Address Mask       : 0x0010\n"
                              "\n";

QByteArray cecBlock(const QByteArray &message, const QByteArray &statusLine)
{
    return "Transmit from Playback Device 1 to TV (4 to 0):\n" + message + "\n\tSequence: 7 Tx Timestamp: 1234.567s\n" +
           (statusLine.isEmpty() ? QByteArray() : "\t" + statusLine + "\n");
}

} // namespace

class TestDisplayPower : public QObject {
    Q_OBJECT
private slots:
    void runner_data();
    void runner();
    void runnerKillsAtTimeout();
    void factory_data();
    void factory();
    void vcgencmd_data();
    void vcgencmd();
    void cec_data();
    void cec();
    void drm_data();
    void drm();
    void drmWithoutSwitchIsAnError();
    void findConnector();
};

void TestDisplayPower::runner_data()
{
    QTest::addColumn<QByteArray>("body"); // null: no such program
    QTest::addColumn<int>("exitCode");    // -1: an error expected
    QTest::addColumn<QByteArray>("out");
    QTest::addColumn<QString>("error");
    QTest::newRow("ok") << QByteArray("echo hello") << 0 << QByteArray("hello\n") << "";
    QTest::newRow("non-zero exit is a result") << QByteArray("echo oops >&2; exit 3") << 3 << QByteArray() << "";
    QTest::newRow("missing binary") << QByteArray() << -1 << QByteArray() << "not found";
    QTest::newRow("killed by a signal") << QByteArray("kill -9 $$") << -1 << QByteArray() << "crashed";
}

void TestDisplayPower::runner()
{
    QFETCH(QByteArray, body);
    QFETCH(int, exitCode);
    QFETCH(QByteArray, out);
    QFETCH(QString, error);
    FakeRoot root;
    const QString program = body.isNull() ? root.file("/bin/absent") : root.tool("tool", body);
    ProcessRunner runner;
    const auto r = runner.run(program, {QStringLiteral("a b"), QStringLiteral("c")}, 10s);
    if (exitCode < 0) {
        QVERIFY(!r);
        QVERIFY2(QString::fromStdString(r.error()).contains(error), r.error().c_str());
        QVERIFY2(QString::fromStdString(r.error()).contains(program), r.error().c_str());
        return;
    }
    QVERIFY2(r, r ? "" : r.error().c_str());
    QCOMPARE(r->exitCode, exitCode);
    QCOMPARE(r->stdoutText, out);
    // Arguments pass as they are, no shell splitting.
    QCOMPARE(FakeRoot::argvOf(program), QStringList({"a b", "c"}));
}

void TestDisplayPower::runnerKillsAtTimeout()
{
    FakeRoot root;
    const QString program = root.tool("hang", "exec sleep 60");
    ProcessRunner runner;
    QElapsedTimer t;
    t.start();
    const auto r = runner.run(program, {}, 300ms);
    QVERIFY(!r);
    QVERIFY2(QString::fromStdString(r.error()).contains("did not finish within 300 ms"), r.error().c_str());
    // Not a timing assertion on performance: a bound far above 300 ms that
    // only fails if the child was waited for instead of killed.
    QVERIFY2(t.elapsed() < 30'000, qPrintable(QString::number(t.elapsed())));
}

void TestDisplayPower::factory_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<bool>("known");
    for (const char *m : {"drm", "vcgencmd", "cec", "none"})
        QTest::newRow(m) << QString::fromLatin1(m) << true;
    QTest::newRow("unknown") << "hdmi" << false;
    QTest::newRow("case matters") << "CEC" << false;
    QTest::newRow("empty") << "" << false;
}

void TestDisplayPower::factory()
{
    QFETCH(QString, method);
    QFETCH(bool, known);
    ProcessRunner runner;
    const auto dp = makeDisplayPower(method, {}, runner);
    QCOMPARE(dp.has_value(), known);
    if (known) {
        QCOMPARE((*dp)->method(), method);
    } else {
        QVERIFY2(QString::fromStdString(dp.error()).contains("drm, vcgencmd, cec, none"), dp.error().c_str());
    }
}

void TestDisplayPower::vcgencmd_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("on");
    QTest::addColumn<int>("display"); // -1: none
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<QString>("detailOrError");
    QTest::addColumn<bool>("ok");

    const QByteArray real = "echo \"display_power=$2\"";
    QTest::newRow("off") << real << false << -1 << QStringList{"display_power", "0"}
                         << "vcgencmd display_power 0: display_power=0" << true;
    QTest::newRow("on") << real << true << -1 << QStringList{"display_power", "1"}
                        << "vcgencmd display_power 1: display_power=1" << true;
    QTest::newRow("on, display 7") << real << true << 7 << QStringList{"display_power", "1", "7"}
                                   << "vcgencmd display_power 1 7: display_power=1" << true;
    QTest::newRow("kms: firmware does not switch")
        << QByteArray("echo 'display_power=-1'") << false << -1 << QStringList{"display_power", "0"}
        << "answered 'display_power=-1', expected 'display_power=0'" << false;
    QTest::newRow("no vchiq access") << QByteArray("echo 'VCHI initialization failed' >&2; exit 1") << false << -1
                                     << QStringList{"display_power", "0"}
                                     << "vcgencmd: vcgencmd display_power 0 exited with 1: VCHI initialization failed"
                                     << false;
    QTest::newRow("missing binary") << QByteArray() << true << -1 << QStringList{}
                                    << "/usr/bin/vcgencmd not found" << false;
    QTest::newRow("times out") << QByteArray("exec sleep 60") << true << -1 << QStringList{"display_power", "1"}
                               << "did not finish within" << false;
}

void TestDisplayPower::vcgencmd()
{
    QFETCH(QByteArray, body);
    QFETCH(bool, on);
    QFETCH(int, display);
    QFETCH(QStringList, argv);
    QFETCH(QString, detailOrError);
    QFETCH(bool, ok);

    FakeRoot root;
    DisplayPowerOptions options;
    options.vcgencmdPath = body.isNull() ? root.file("/usr/bin/vcgencmd") : root.tool("vcgencmd", body);
    if (display >= 0)
        options.vcgencmdDisplay = display;
    options.timeout = 500ms;
    ProcessRunner runner;
    auto dp = makeDisplayPower("vcgencmd", options, runner);
    QVERIFY(dp);
    const auto r = (*dp)->setPower(on);
    QCOMPARE(FakeRoot::argvOf(options.vcgencmdPath), argv);
    if (!ok) {
        QVERIFY(!r);
        QVERIFY2(QString::fromStdString(r.error()).contains(detailOrError), r.error().c_str());
        return;
    }
    QVERIFY2(r, r ? "" : r.error().c_str());
    QCOMPARE(r->on, on);
    QCOMPARE(r->method, QStringLiteral("vcgencmd"));
    QCOMPARE(r->detail, detailOrError);
}

void TestDisplayPower::cec_data()
{
    QTest::addColumn<QByteArray>("output");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<bool>("on");
    QTest::addColumn<QString>("device");
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<QString>("detailOrError");
    QTest::addColumn<bool>("ok");

    QTest::newRow("standby acknowledged")
        << kCecHeader + cecBlock("CEC_MSG_STANDBY (0x36)", "") << 0 << false << ""
        << QStringList{"--to", "0", "--standby"}
        << "cec-ctl --to 0 --standby: Transmit from Playback Device 1 to TV (4 to 0):" << true;
    QTest::newRow("wake with device, explicit Tx OK")
        << kCecHeader + cecBlock("CEC_MSG_IMAGE_VIEW_ON (0x04)", "Tx, OK") << 0 << true << "/dev/cec1"
        << QStringList{"-d", "/dev/cec1", "--to", "0", "--image-view-on"}
        << "cec-ctl -d /dev/cec1 --to 0 --image-view-on: Transmit from Playback Device 1 to TV (4 to 0):; Tx, OK"
        << true;
    QTest::newRow("TV off the bus: exit 0 but not acknowledged")
        << kCecHeader + cecBlock("CEC_MSG_STANDBY (0x36)", "Tx, Not Acknowledged (4), Max Retries") << 0 << false
        << "" << QStringList{"--to", "0", "--standby"}
        << "the TV did not take it: Tx, Not Acknowledged (4), Max Retries" << false;
    QTest::newRow("no adapter")
        << QByteArray() << 1 << true << "/dev/cec9"
        << QStringList{"-d", "/dev/cec9", "--to", "0", "--image-view-on"}
        << "exited with 1: Failed to open /dev/cec9: No such file or directory" << false;
}

void TestDisplayPower::cec()
{
    QFETCH(QByteArray, output);
    QFETCH(int, exitCode);
    QFETCH(bool, on);
    QFETCH(QString, device);
    QFETCH(QStringList, argv);
    QFETCH(QString, detailOrError);
    QFETCH(bool, ok);

    FakeRoot root;
    QVERIFY(root.write("/out.txt", output));
    QByteArray body = "cat '" + root.file("/out.txt").toUtf8() + "'\n";
    if (exitCode != 0)
        body += "echo \"Failed to open $2: No such file or directory\" >&2\nexit " + QByteArray::number(exitCode);
    DisplayPowerOptions options;
    options.cecCtlPath = root.tool("cec-ctl", body);
    options.cecDevice = device;
    ProcessRunner runner;
    auto dp = makeDisplayPower("cec", options, runner);
    QVERIFY(dp);
    const auto r = (*dp)->setPower(on);
    QCOMPARE(FakeRoot::argvOf(options.cecCtlPath), argv);
    if (!ok) {
        QVERIFY(!r);
        QVERIFY2(QString::fromStdString(r.error()).startsWith("cec: "), r.error().c_str());
        QVERIFY2(QString::fromStdString(r.error()).contains(detailOrError), r.error().c_str());
        return;
    }
    QVERIFY2(r, r ? "" : r.error().c_str());
    QCOMPARE(r->on, on);
    QCOMPARE(r->detail, detailOrError);
}

void TestDisplayPower::drm_data()
{
    QTest::addColumn<bool>("on");
    QTest::addColumn<QString>("dpmsAfter");  // what sysfs shows after the switch; empty: no connector
    QTest::addColumn<QString>("switchError"); // non-empty: the injected switch fails
    QTest::addColumn<QString>("detailOrError");
    QTest::addColumn<bool>("ok");
    QTest::newRow("off confirmed") << false << "Off" << "" << "drm DPMS Off: card1-HDMI-A-1 dpms=Off status=connected"
                                   << true;
    QTest::newRow("on confirmed") << true << "On" << "" << "drm DPMS On: card1-HDMI-A-1 dpms=On status=connected"
                                  << true;
    QTest::newRow("standby counts as off") << false << "Standby" << ""
                                           << "drm DPMS Off: card1-HDMI-A-1 dpms=Standby status=connected" << true;
    QTest::newRow("contradicted") << false << "On" << ""
                                  << "asked for DPMS Off, but the connector reports card1-HDMI-A-1 dpms=On" << false;
    QTest::newRow("switch fails") << true << "Off" << "Permission denied"
                                  << "drm: switching DPMS on failed: Permission denied" << false;
    QTest::newRow("no connector: unconfirmed") << true << "" << ""
                                               << "drm DPMS On: switched, not confirmed (no connected connector under"
                                               << true;
}

void TestDisplayPower::drm()
{
    QFETCH(bool, on);
    QFETCH(QString, dpmsAfter);
    QFETCH(QString, switchError);
    QFETCH(QString, detailOrError);
    QFETCH(bool, ok);

    FakeRoot root;
    // A Pi 4 under vc4-kms: card0 is v3d (no connectors), card1 has two HDMI ports.
    QVERIFY(root.write("/sys/class/drm/version", "drm 1.1.0 20060810\n"));
    QVERIFY(root.write("/sys/class/drm/card1/dev", "226:1\n"));
    QVERIFY(root.write("/sys/class/drm/card1-HDMI-A-2/status", "disconnected\n"));
    QVERIFY(root.write("/sys/class/drm/card1-HDMI-A-2/dpms", "Off\n"));
    if (!dpmsAfter.isEmpty()) {
        QVERIFY(root.write("/sys/class/drm/card1-HDMI-A-1/status", "connected\n"));
        QVERIFY(root.write("/sys/class/drm/card1-HDMI-A-1/enabled", "enabled\n"));
        QVERIFY(root.write("/sys/class/drm/card1-HDMI-A-1/dpms", on ? "Off\n" : "On\n")); // before
    }

    std::vector<bool> calls;
    DisplayPowerOptions options;
    options.root = root.path();
    options.drmSwitch = [&](bool want) -> std::expected<void, std::string> {
        calls.push_back(want);
        if (!switchError.isEmpty())
            return std::unexpected(switchError.toStdString());
        if (!dpmsAfter.isEmpty() && !root.write("/sys/class/drm/card1-HDMI-A-1/dpms", dpmsAfter.toUtf8() + "\n"))
            return std::unexpected(std::string("test could not write dpms"));
        return {};
    };
    ProcessRunner runner;
    auto dp = makeDisplayPower("drm", options, runner);
    QVERIFY(dp);
    const auto r = (*dp)->setPower(on);
    QCOMPARE(calls, std::vector<bool>{on});
    if (!ok) {
        QVERIFY(!r);
        QVERIFY2(QString::fromStdString(r.error()).contains(detailOrError), r.error().c_str());
        return;
    }
    QVERIFY2(r, r ? "" : r.error().c_str());
    QCOMPARE(r->on, on);
    QVERIFY2(r->detail.startsWith(detailOrError), qPrintable(r->detail));
}

void TestDisplayPower::drmWithoutSwitchIsAnError()
{
    ProcessRunner runner;
    auto dp = makeDisplayPower("drm", {}, runner);
    QVERIFY(dp);
    const auto r = (*dp)->setPower(false);
    QVERIFY(!r);
    QVERIFY2(QString::fromStdString(r.error()).contains("DRM master"), r.error().c_str());
}

void TestDisplayPower::findConnector()
{
    FakeRoot root;
    QVERIFY(root.write("/sys/class/drm/card0-HDMI-A-1/status", "disconnected\n"));
    QVERIFY(root.write("/sys/class/drm/card1-DSI-1/status", "connected\n"));
    QVERIFY(root.write("/sys/class/drm/card1-DSI-1/dpms", "On\n"));
    QVERIFY(root.write("/sys/class/drm/card1-HDMI-A-2/status", "connected\n"));
    QVERIFY(root.write("/sys/class/drm/renderD128/dev", "226:128\n"));

    const auto first = findDrmConnector(root.path(), {});
    QVERIFY(first);
    QCOMPARE(first->name, QStringLiteral("card1-DSI-1")); // first connected by name
    QCOMPARE(first->dpms, QStringLiteral("On"));
    const auto named = findDrmConnector(root.path(), QStringLiteral("HDMI-A-1"));
    QVERIFY(named);
    QCOMPARE(named->status, QStringLiteral("disconnected")); // named: taken even when disconnected
    QVERIFY(!findDrmConnector(root.path(), QStringLiteral("HDMI-A-3")));
    FakeRoot empty;
    QVERIFY(!findDrmConnector(empty.path(), {}));
}

QTEST_GUILESS_MAIN(TestDisplayPower)
#include "tst_display_power.moc"
