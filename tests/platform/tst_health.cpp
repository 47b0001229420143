// tests/platform/tst_health.cpp — sensors: the parsing tables, the firmware
// flags' mapping onto schedule::DeviceHealth, then PiHealthSource on a fake
// /sys + /proc tree, with a fake vcgencmd for the get_throttled fallback and
// the real statvfs of a temp data dir (read-only state; free disk is the
// cache's, tests/cache).
#include "platform/rpi/tool_runner.h"
#include "platform/rpi/health.h"
#include "platform/rpi/throttle.h"

#include "fake_root.h"

#include <QTest>

using namespace stoa::platform;
using namespace std::chrono_literals;

class TestHealth : public QObject {
    Q_OBJECT
private slots:
    void milliCelsius_data();
    void milliCelsius();
    void throttledText_data();
    void throttledText();
    void throttleBits_data();
    void throttleBits();
    void mounts_data();
    void mounts();
    void piTree();
    void vcgencmdFallback_data();
    void vcgencmdFallback();
    void pcTreeIsUnknownNotError();
    void readOnlyFromMounts_data();
    void readOnlyFromMounts();
};

void TestHealth::milliCelsius_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<double>("celsius"); // NaN: unknown
    QTest::newRow("pi idle") << QByteArray("51234\n") << 51.234;
    QTest::newRow("below zero") << QByteArray("-5000\n") << -5.0;
    QTest::newRow("zero") << QByteArray("0") << 0.0;
    QTest::newRow("empty") << QByteArray("") << qQNaN();
    QTest::newRow("garbage") << QByteArray("hot\n") << qQNaN();
    QTest::newRow("EINVAL text") << QByteArray("51.2") << qQNaN();
}

void TestHealth::milliCelsius()
{
    QFETCH(QByteArray, text);
    QFETCH(double, celsius);
    const auto c = parseMilliCelsius(text);
    QCOMPARE(c.has_value(), !qIsNaN(celsius));
    if (c)
        QCOMPARE(*c, celsius);
}

void TestHealth::throttledText_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qint64>("raw"); // -1: rejected
    QTest::newRow("sysfs") << QByteArray("50005\n") << qint64(0x50005);
    QTest::newRow("sysfs zero") << QByteArray("0\n") << qint64(0);
    QTest::newRow("vcgencmd") << QByteArray("throttled=0x50005\n") << qint64(0x50005);
    QTest::newRow("vcgencmd zero") << QByteArray("throttled=0x0\n") << qint64(0);
    QTest::newRow("uppercase hex") << QByteArray("0xE000F") << qint64(0xE000F);
    QTest::newRow("empty") << QByteArray("") << qint64(-1);
    QTest::newRow("prefix only") << QByteArray("throttled=") << qint64(-1);
    QTest::newRow("vcgencmd error") << QByteArray("error=1 error_msg=\"Command not registered\"") << qint64(-1);
    QTest::newRow("too wide") << QByteArray("123456789") << qint64(-1);
    QTest::newRow("not hex") << QByteArray("0x5g") << qint64(-1);
}

void TestHealth::throttledText()
{
    QFETCH(QByteArray, text);
    QFETCH(qint64, raw);
    const auto v = parseThrottled(text);
    QCOMPARE(v.has_value(), raw >= 0);
    if (v)
        QCOMPARE(qint64(*v), raw);
}

void TestHealth::throttleBits_data()
{
    QTest::addColumn<quint32>("raw");
    QTest::addColumn<QStringList>("names");
    QTest::addColumn<bool>("anyNow");
    QTest::addColumn<bool>("anySinceBoot");
    QTest::addColumn<bool>("throttled");    // DeviceHealth::throttled (§5): throttled or frequency capped now
    QTest::addColumn<bool>("underVoltage"); // DeviceHealth::underVoltage
    QTest::newRow("healthy") << 0x0u << QStringList{} << false << false << false << false;
    QTest::newRow("under-voltage now and since boot, throttled now and since")
        << 0x50005u << QStringList{"under-voltage", "throttled", "under-voltage-occurred", "throttled-occurred"}
        << true << true << true << true;
    QTest::newRow("was under-voltage, fine now") << 0x50000u
                                                 << QStringList{"under-voltage-occurred", "throttled-occurred"}
                                                 << false << true << false << false;
    QTest::newRow("hot: capped and soft limit")
        << 0xA000Au << QStringList{"frequency-capped", "soft-temperature-limit", "frequency-capped-occurred",
                                    "soft-temperature-limit-occurred"}
        << true << true << true << false;
    QTest::newRow("under-voltage alone is not throttled")
        << 0x1u << QStringList{"under-voltage"} << true << true << false << true;
    QTest::newRow("soft limit alone is not throttled")
        << 0x8u << QStringList{"soft-temperature-limit"} << true << true << false << false;
    QTest::newRow("all eight") << 0xF000Fu
                               << QStringList{"under-voltage", "frequency-capped", "throttled",
                                              "soft-temperature-limit", "under-voltage-occurred",
                                              "frequency-capped-occurred", "throttled-occurred",
                                              "soft-temperature-limit-occurred"}
                               << true << true << true << true;
    QTest::newRow("unknown bits only") << 0x00F0FFF0u << QStringList{} << false << false << false << false;
}

void TestHealth::throttleBits()
{
    QFETCH(quint32, raw);
    QFETCH(QStringList, names);
    QFETCH(bool, anyNow);
    QFETCH(bool, anySinceBoot);
    const ThrottleFlags f = decodeThrottled(raw);
    QCOMPARE(f.raw, raw);
    QCOMPARE(f.names(), names);
    QCOMPARE(f.anyNow(), anyNow);
    QCOMPARE(f.anySinceBoot(), anySinceBoot);

    // Onto the one health type: the flags' fields, nothing else touched.
    QFETCH(bool, throttled);
    QFETCH(bool, underVoltage);
    stoa::schedule::DeviceHealth h;
    h.cpuTempC = 40.0;
    h.conditions = {"stale"};
    applyThrottle(f, h);
    QCOMPARE(h.throttled, std::optional<bool>(throttled));
    QCOMPARE(h.underVoltage, std::optional<bool>(underVoltage));
    QCOMPARE(h.problemSinceBoot, std::optional<bool>(anySinceBoot));
    QStringList got;
    for (const auto &c : h.conditions)
        got << QString::fromStdString(c);
    QCOMPARE(got, names);
    QCOMPARE(h.cpuTempC, std::optional<double>(40.0));
    QVERIFY(!h.diskFreeBytes && !h.readOnly);
}

void TestHealth::mounts_data()
{
    QTest::addColumn<QByteArray>("mounts");
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("readOnly"); // -1 unknown, 0 rw, 1 ro
    const QByteArray pi = "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n"
                          "devtmpfs /dev devtmpfs rw,relatime,size=1867796k 0 0\n"
                          "proc /proc proc rw,relatime 0 0\n"
                          "/dev/mmcblk0p1 /boot/firmware vfat ro,relatime,fmask=0022 0 0\n"
                          "/dev/sda1 /var/lib/stoa ext4 rw,relatime 0 0\n"
                          "/dev/sdb1 /media/my\\040disk ext4 ro 0 0\n";
    QTest::newRow("data dir on its own rw mount") << pi << "/var/lib/stoa" << 0;
    QTest::newRow("below the data mount") << pi << "/var/lib/stoa/blobs" << 0;
    QTest::newRow("root fs") << pi << "/var/lib" << 0;
    QTest::newRow("prefix is not a parent") << pi << "/var/lib/stoa2" << 0;
    QTest::newRow("boot partition ro") << pi << "/boot/firmware/stoa.conf" << 1;
    QTest::newRow("escaped space") << pi << "/media/my disk/x" << 1;
    QTest::newRow("root remounted ro after errors")
        << QByteArray("/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n/dev/mmcblk0p2 / ext4 ro,noatime 0 0\n")
        << "/var/lib/stoa" << 1;
    QTest::newRow("overlayfs root ro lower, rw overlay")
        << QByteArray("/dev/mmcblk0p2 / ext4 ro 0 0\noverlay / overlay rw,lowerdir=/ro 0 0\n") << "/var/lib/stoa" << 0;
    QTest::newRow("no entries") << QByteArray("") << "/var/lib/stoa" << -1;
    QTest::newRow("nothing covers a relative path") << pi << "var/lib" << -1;
}

void TestHealth::mounts()
{
    QFETCH(QByteArray, mounts);
    QFETCH(QString, path);
    QFETCH(int, readOnly);
    const auto ro = mountIsReadOnly(mounts, path);
    QCOMPARE(ro.has_value(), readOnly >= 0);
    if (ro)
        QCOMPARE(*ro, readOnly == 1);
}

void TestHealth::piTree()
{
    FakeRoot root;
    QVERIFY(root.write("/sys/class/thermal/thermal_zone0/temp", "62300\n"));
    QVERIFY(root.write("/sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n"));
    // A vcgencmd that must not be asked: sysfs answered.
    const QString vcgencmd = root.tool("vcgencmd", "echo 'throttled=0x0'");
    ProcessRunner runner;
    PiHealthSource source({root.path(), root.path(), vcgencmd, 2s}, runner);
    const stoa::schedule::DeviceHealth r = source.read();
    QVERIFY(r.cpuTempC);
    QCOMPARE(*r.cpuTempC, 62.3);
    QCOMPARE(r.throttled, std::optional<bool>(true));
    QCOMPARE(r.underVoltage, std::optional<bool>(true));
    QCOMPARE(r.problemSinceBoot, std::optional<bool>(true));
    QCOMPARE(r.conditions.size(), std::size_t(4));
    QVERIFY(FakeRoot::argvOf(vcgencmd).isEmpty());
    QVERIFY(!r.diskFreeBytes && !r.diskTotalBytes); // the store holder's (cache::diskSpace), not a sensor
    QCOMPARE(r.readOnly, std::optional<bool>(false)); // no /proc/mounts in the tree: statvfs says rw
}

void TestHealth::vcgencmdFallback_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<qint64>("raw"); // -1: unknown
    QTest::newRow("answers") << QByteArray("echo 'throttled=0x20002'") << qint64(0x20002);
    QTest::newRow("fails") << QByteArray("echo 'VCHI initialization failed' >&2; exit 1") << qint64(-1);
    QTest::newRow("odd output") << QByteArray("echo 'error=2 error_msg=\"Invalid arguments\"'") << qint64(-1);
    QTest::newRow("missing") << QByteArray() << qint64(-1);
}

void TestHealth::vcgencmdFallback()
{
    QFETCH(QByteArray, body);
    QFETCH(qint64, raw);
    FakeRoot root; // no get_throttled in sysfs
    const QString vcgencmd = body.isNull() ? root.file("/usr/bin/vcgencmd") : root.tool("vcgencmd", body);
    ProcessRunner runner;
    PiHealthSource source({root.path(), root.path(), vcgencmd, 2s}, runner);
    const auto t = source.throttle();
    QCOMPARE(t.has_value(), raw >= 0);
    if (t)
        QCOMPARE(qint64(t->raw), raw);
    if (!body.isNull())
        QCOMPARE(FakeRoot::argvOf(vcgencmd), QStringList{"get_throttled"});
}

void TestHealth::pcTreeIsUnknownNotError()
{
    FakeRoot root; // nothing of a Pi; no vcgencmd configured
    ProcessRunner runner;
    PiHealthSource source({root.path(), root.file("/no/such/data/dir"), {}, 2s}, runner);
    const stoa::schedule::DeviceHealth r = source.read();
    QVERIFY(!r.cpuTempC);
    QVERIFY(!r.throttled && !r.underVoltage && !r.problemSinceBoot);
    QVERIFY(r.conditions.empty());
    QVERIFY(!r.diskFreeBytes);
    QVERIFY(!r.readOnly);
}

void TestHealth::readOnlyFromMounts_data()
{
    QTest::addColumn<QByteArray>("optionsForDataDir");
    QTest::addColumn<bool>("readOnly");
    QTest::newRow("rw") << QByteArray("rw,relatime") << false;
    QTest::newRow("ro (e.g. errors=remount-ro fired)") << QByteArray("ro,relatime") << true;
}

void TestHealth::readOnlyFromMounts()
{
    QFETCH(QByteArray, optionsForDataDir);
    QFETCH(bool, readOnly);
    QTemporaryDir data; // real and writable; the fake /proc/mounts says how it is mounted
    FakeRoot root;
    const QByteArray dataPath = QFileInfo(data.path()).canonicalFilePath().toUtf8();
    QVERIFY(root.write("/proc/mounts", "/dev/root / ext4 rw 0 0\n/dev/sda1 " + dataPath + " ext4 " +
                                           optionsForDataDir + " 0 0\n"));
    ProcessRunner runner;
    PiHealthSource source({root.path(), data.path(), {}, 2s}, runner);
    QCOMPARE(source.readOnly(), std::optional<bool>(readOnly));
}

QTEST_GUILESS_MAIN(TestHealth)
#include "tst_health.moc"
