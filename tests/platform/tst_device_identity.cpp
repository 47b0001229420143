// tests/platform/tst_device_identity.cpp — resolveDeviceId on fake roots.
//
// Each row builds a fake tree (devicetree, cpuinfo, machine-id) and checks
// which id wins and from where; the real parsing reads the real files.
#include "platform/rpi/device_identity.h"

#include "fake_root.h"

#include <QTest>

using namespace stoa::platform;

Q_DECLARE_METATYPE(DeviceIdSource)

namespace {

const QByteArray kPi4Cpuinfo = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
                               "\nHardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 10000000abcdef01\n"
                               "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n";
const QByteArray kX86Cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM)\n";
const QByteArray kMachineId = "0123456789abcdef0123456789abcdef\n";

} // namespace

class TestDeviceIdentity : public QObject {
    Q_OBJECT
private slots:
    void fromSerial_data();
    void fromSerial();
    void resolve_data();
    void resolve();
    void sameBoardSameIdFromEitherSource();
    void missingRootIsAnErrorNamingTheFiles();
};

void TestDeviceIdentity::fromSerial_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QString>("expected"); // empty: not a serial

    QTest::newRow("pi4 devicetree") << QByteArray("10000000abcdef01\0", 17) << "rpi-10000000abcdef01";
    QTest::newRow("pi3 leading zeros") << QByteArray("00000000abcdef01\0", 17) << "rpi-abcdef01";
    QTest::newRow("uppercase folded") << QByteArray("10000000ABCDEF01") << "rpi-10000000abcdef01";
    QTest::newRow("spaces trimmed") << QByteArray("  c1b2d3e4f5061728 \n") << "rpi-c1b2d3e4f5061728";
    QTest::newRow("all zeros") << QByteArray("0000000000000000\0", 17) << "";
    QTest::newRow("empty") << QByteArray("\0", 1) << "";
    QTest::newRow("punctuation") << QByteArray("abc-123") << "";
    QTest::newRow("too long for an id") << QByteArray(70, 'a') << "";
}

void TestDeviceIdentity::fromSerial()
{
    QFETCH(QByteArray, raw);
    QFETCH(QString, expected);
    const auto id = deviceIdFromSerial(raw);
    if (expected.isEmpty()) {
        QVERIFY2(!id, id ? id->c_str() : "");
    } else {
        QVERIFY(id);
        QCOMPARE(QString::fromStdString(*id), expected);
    }
}

void TestDeviceIdentity::resolve_data()
{
    QTest::addColumn<QString>("override");
    QTest::addColumn<QByteArray>("procDt");    // <root>/proc/device-tree/serial-number; null: absent
    QTest::addColumn<QByteArray>("sysDt");     // <root>/sys/firmware/devicetree/base/serial-number
    QTest::addColumn<QByteArray>("cpuinfo");   // <root>/proc/cpuinfo
    QTest::addColumn<QByteArray>("machineId"); // <root>/etc/machine-id
    QTest::addColumn<QString>("id");           // empty: an error
    QTest::addColumn<DeviceIdSource>("source");
    QTest::addColumn<QString>("fileOrError");  // the file used, or a part of the error

    const QByteArray none;
    const QByteArray serial("10000000abcdef01\0", 17);
    const QByteArray zeros("0000000000000000\0", 17);

    QTest::newRow("override wins over everything")
        << "pi-lobby-01" << serial << serial << kPi4Cpuinfo << kMachineId << "pi-lobby-01"
        << DeviceIdSource::Configured << "";
    QTest::newRow("invalid override is an error, not replaced")
        << "lobby 01" << serial << serial << kPi4Cpuinfo << kMachineId << "" << DeviceIdSource::Configured
        << "'lobby 01' is not";
    QTest::newRow("overlong override is an error")
        << QString(65, QLatin1Char('a')) << serial << none << none << kMachineId << "" << DeviceIdSource::Configured
        << "1-64 characters";
    QTest::newRow("proc devicetree serial first")
        << "" << serial << none << kPi4Cpuinfo << kMachineId << "rpi-10000000abcdef01"
        << DeviceIdSource::DevicetreeSerial << "/proc/device-tree/serial-number";
    QTest::newRow("sysfs devicetree when /proc/device-tree is absent")
        << "" << none << serial << kPi4Cpuinfo << kMachineId << "rpi-10000000abcdef01"
        << DeviceIdSource::DevicetreeSerial << "/sys/firmware/devicetree/base/serial-number";
    QTest::newRow("all-zero devicetree serial falls to cpuinfo")
        << "" << zeros << zeros << kPi4Cpuinfo << kMachineId << "rpi-10000000abcdef01"
        << DeviceIdSource::CpuinfoSerial << "/proc/cpuinfo";
    QTest::newRow("cpuinfo without devicetree")
        << "" << none << none << kPi4Cpuinfo << kMachineId << "rpi-10000000abcdef01" << DeviceIdSource::CpuinfoSerial
        << "/proc/cpuinfo";
    QTest::newRow("all-zero cpuinfo serial falls to machine-id")
        << "" << none << none << QByteArray("Hardware\t: BCM2835\nSerial\t\t: 0000000000000000\n") << kMachineId
        << "0123456789abcdef0123456789abcdef" << DeviceIdSource::MachineId << "/etc/machine-id";
    QTest::newRow("pc: no serial anywhere, machine-id as it is")
        << "" << none << none << kX86Cpuinfo << kMachineId << "0123456789abcdef0123456789abcdef"
        << DeviceIdSource::MachineId << "/etc/machine-id";
    QTest::newRow("uninitialized machine-id is no id")
        << "" << none << none << kX86Cpuinfo << QByteArray("uninitialized\n") << "" << DeviceIdSource::MachineId
        << "no device id";
    QTest::newRow("empty machine-id is no id")
        << "" << none << none << kX86Cpuinfo << QByteArray("") << "" << DeviceIdSource::MachineId << "no device id";
}

void TestDeviceIdentity::resolve()
{
    QFETCH(QString, override);
    QFETCH(QByteArray, procDt);
    QFETCH(QByteArray, sysDt);
    QFETCH(QByteArray, cpuinfo);
    QFETCH(QByteArray, machineId);
    QFETCH(QString, id);
    QFETCH(DeviceIdSource, source);
    QFETCH(QString, fileOrError);

    FakeRoot root;
    if (!procDt.isNull())
        QVERIFY(root.write("/proc/device-tree/serial-number", procDt));
    if (!sysDt.isNull())
        QVERIFY(root.write("/sys/firmware/devicetree/base/serial-number", sysDt));
    if (!cpuinfo.isNull())
        QVERIFY(root.write("/proc/cpuinfo", cpuinfo));
    if (!machineId.isNull())
        QVERIFY(root.write("/etc/machine-id", machineId));

    const auto resolved = resolveDeviceId(override.toStdString(), root.path());
    if (id.isEmpty()) {
        QVERIFY2(!resolved, resolved ? resolved->id.c_str() : "");
        QVERIFY2(QString::fromStdString(resolved.error()).contains(fileOrError), resolved.error().c_str());
        return;
    }
    QVERIFY2(resolved, resolved ? "" : resolved.error().c_str());
    QCOMPARE(QString::fromStdString(resolved->id), id);
    QCOMPARE(resolved->source, source);
    QCOMPARE(resolved->file, fileOrError.isEmpty() ? QString() : root.file(fileOrError));
}

void TestDeviceIdentity::sameBoardSameIdFromEitherSource()
{
    // A kernel without /proc/device-tree (or a container) must not rename the device.
    FakeRoot dt;
    QVERIFY(dt.write("/proc/device-tree/serial-number", QByteArray("00000000c0ffee42\0", 17)));
    FakeRoot cpu;
    QVERIFY(cpu.write("/proc/cpuinfo", "Serial\t\t: 00000000c0ffee42\n"));
    const auto a = resolveDeviceId({}, dt.path());
    const auto b = resolveDeviceId({}, cpu.path());
    QVERIFY(a && b);
    QCOMPARE(a->source, DeviceIdSource::DevicetreeSerial);
    QCOMPARE(b->source, DeviceIdSource::CpuinfoSerial);
    QCOMPARE(a->id, b->id);
    QCOMPARE(a->id, std::string("rpi-c0ffee42"));
    // And it is stable: asking again gives the same.
    QCOMPARE(resolveDeviceId({}, dt.path())->id, a->id);
}

void TestDeviceIdentity::missingRootIsAnErrorNamingTheFiles()
{
    FakeRoot root; // empty tree
    const auto r = resolveDeviceId({}, root.path());
    QVERIFY(!r);
    const QString error = QString::fromStdString(r.error());
    QVERIFY2(error.contains("--device-id"), qPrintable(error));
    QVERIFY2(error.contains(root.file("/etc/machine-id")), qPrintable(error));
    QVERIFY2(error.contains(root.file("/proc/cpuinfo")), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestDeviceIdentity)
#include "tst_device_identity.moc"
