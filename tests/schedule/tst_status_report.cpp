// tests/schedule/tst_status_report.cpp — the §5 status document's health
// object from the one health type (schedule::DeviceHealth): each field set
// in the reading appears under its spec name with its value, an unknown one
// is null (the key stays: every §5 key is always present), and the fields
// §5 does not name never leak into the document. The heartbeat and the
// player's /status both write through this, so a field dropped here fails.
#include "schedule/status_report.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

Q_DECLARE_METATYPE(stoa::schedule::DeviceHealth)

using namespace stoa::schedule;

namespace {

QJsonObject healthOf(const DeviceHealth &h)
{
    StatusReport r;
    r.deviceId = "dev-1";
    r.sentAt = QDateTime::fromSecsSinceEpoch(1'800'000'000, Qt::UTC);
    r.health = h;
    // Through the bytes, as a server reads them.
    const QJsonObject doc = QJsonDocument::fromJson(statusReportJson(r)).object();
    return doc.value("health").toObject();
}

} // namespace

class TestStatusReport : public QObject {
    Q_OBJECT
private slots:
    void healthField_data();
    void healthField();
    void healthKeysAreExactlySection5s();
};

void TestStatusReport::healthField_data()
{
    QTest::addColumn<DeviceHealth>("health");
    QTest::addColumn<QJsonObject>("expected"); // the whole §5 health object

    const QJsonValue null;
    QTest::newRow("nothing known") << DeviceHealth{}
                                   << QJsonObject{{"cpu_temp_c", null}, {"throttled", null}, {"disk_free_bytes", null}};
    DeviceHealth temp;
    temp.cpuTempC = 51.2;
    QTest::newRow("cpu_temp_c alone")
        << temp << QJsonObject{{"cpu_temp_c", 51.2}, {"throttled", null}, {"disk_free_bytes", null}};
    DeviceHealth throttled;
    throttled.throttled = true;
    QTest::newRow("throttled alone")
        << throttled << QJsonObject{{"cpu_temp_c", null}, {"throttled", true}, {"disk_free_bytes", null}};
    DeviceHealth notThrottled;
    notThrottled.throttled = false; // known false is false, not null
    QTest::newRow("not throttled")
        << notThrottled << QJsonObject{{"cpu_temp_c", null}, {"throttled", false}, {"disk_free_bytes", null}};
    DeviceHealth disk;
    disk.diskFreeBytes = 1234567890123ull; // beyond 32 bits
    QTest::newRow("disk_free_bytes alone")
        << disk << QJsonObject{{"cpu_temp_c", null}, {"throttled", null}, {"disk_free_bytes", qint64(1234567890123)}};
    DeviceHealth full;
    full.diskFreeBytes = 0; // a full disk is 0, not unknown
    QTest::newRow("disk full")
        << full << QJsonObject{{"cpu_temp_c", null}, {"throttled", null}, {"disk_free_bytes", 0}};
    DeviceHealth all;
    all.cpuTempC = -5.5;
    all.throttled = false;
    all.underVoltage = true;
    all.problemSinceBoot = true;
    all.conditions = {"under-voltage", "under-voltage-occurred"};
    all.diskFreeBytes = 42;
    all.diskTotalBytes = 100;
    all.readOnly = true;
    QTest::newRow("everything: only §5's three are written")
        << all << QJsonObject{{"cpu_temp_c", -5.5}, {"throttled", false}, {"disk_free_bytes", 42}};
}

void TestStatusReport::healthField()
{
    QFETCH(DeviceHealth, health);
    QFETCH(QJsonObject, expected);
    const QJsonObject got = healthOf(health);
    QVERIFY2(got == expected, QJsonDocument(got).toJson(QJsonDocument::Compact).constData());
    // null, not left out: a reader can tell "unknown" from an old device.
    for (const QString &key : expected.keys())
        QVERIFY2(got.contains(key), qPrintable(key));
}

void TestStatusReport::healthKeysAreExactlySection5s()
{
    DeviceHealth h;
    h.underVoltage = true;
    h.readOnly = true;
    h.diskTotalBytes = 1;
    const QStringList keys = healthOf(h).keys();
    QCOMPARE(keys, (QStringList{"cpu_temp_c", "disk_free_bytes", "throttled"}));
}

QTEST_GUILESS_MAIN(TestStatusReport)
#include "tst_status_report.moc"
