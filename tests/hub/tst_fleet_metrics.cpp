// The fleet's series on the hub's /metrics (hub/fleet_metrics.h), which the
// alerting rules in packaging/prometheus/ read: per-device values from the
// latest heartbeat, per-group states, publication adoption, and series
// that end when their device is revoked or goes offline. Over real HTTP,
// against the backend STOA_HUB_TEST_BACKEND names.
#include "hub_harness.h"
#include "process_probe.h"

#include "hub/fleet_metrics.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <chrono>
#include <optional>
#include <thread>

using namespace stoa;
using namespace stoa::hub;
using namespace stoa::hub::test;
using stoa::endpoints::testing::sampleValue; // tests/harness/process_probe.h

namespace {

const std::string kPng = std::string(
    "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c"
    "c\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xae B`\x82",
    70);
const std::string kFleet = "timezone = UTC\ndefault = main\n\n[playlist main]\nlogo.png 8s\n";

// A §5 heartbeat with the fields the alerting series come from.
std::string heartbeat(const std::string &id, int version, const std::string &health, bool stale = false,
                      int failures = 0)
{
    return R"({"device_id":")" + id + R"(","software_version":"0.1.0","sent_at":"2026-12-06T10:00:00Z","uptime_s":5,)"
           R"("manifest":{"version":)" + std::to_string(version) + R"(,"expires_at":"2030-01-01T00:00:00Z","stale":)"
           + (stale ? "true" : "false") + R"(},"sync":{"last_success_at":"2026-12-06T09:59:00Z","last_error":null,)"
           R"("consecutive_failures":)" + std::to_string(failures) + R"(},"health":)" + health + "}";
}

} // namespace

class FleetMetricsTest : public QObject {
    Q_OBJECT
    Backends backends;
    std::unique_ptr<HubHarness> h;

    std::string metrics() { return h->client()->get("/metrics").body; }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str());
    }
    void init()
    {
        h = std::make_unique<HubHarness>();
        const auto e = h->start(backends);
        QVERIFY2(e.empty(), e.c_str());
    }
    void cleanup() { h.reset(); }

    void parseHeartbeatFields()
    {
        const auto full = FleetMetrics::parseHeartbeat(
            heartbeat("pi-1", 3, R"({"cpu_temp_c":81.5,"throttled":true,"disk_free_bytes":123})", true, 4), 7);
        QCOMPARE(full.receivedAtMs, std::int64_t{7});
        QCOMPARE(full.manifestStale, std::optional<bool>(true));
        QCOMPARE(full.manifestExpiresAtS, std::optional<double>(1893456000));
        QCOMPARE(full.syncFailures, std::optional<double>(4));
        QCOMPARE(full.syncLastSuccessS, std::optional<double>(1796551140));
        QCOMPARE(full.cpuTempC, std::optional<double>(81.5));
        QCOMPARE(full.throttled, std::optional<bool>(true));
        QCOMPARE(full.diskFreeBytes, std::optional<double>(123));
        // Nulls (a PC has no SoC sensor), a null manifest, wrong types, garbage: no value.
        const auto nulls = FleetMetrics::parseHeartbeat(
            R"({"manifest":null,"health":{"cpu_temp_c":null,"throttled":"yes","disk_free_bytes":null},"sync":7})", 1);
        QVERIFY(!nulls.manifestStale && !nulls.manifestExpiresAtS && !nulls.cpuTempC && !nulls.throttled
                && !nulls.diskFreeBytes && !nulls.syncFailures && !nulls.syncLastSuccessS);
        const auto garbage = FleetMetrics::parseHeartbeat("not json", 1);
        QVERIFY(!garbage.diskFreeBytes && !garbage.manifestStale);
    }

    void seriesFollowHeartbeats()
    {
        QVERIFY(h->hub->storage().setDeviceGroup("pi-1", std::string("lobby")));
        auto before = metrics();
        QCOMPARE(sampleValue(before, "stoa_hub_database_up"), std::optional<double>(1));
        // Never heard from: counted in its group, but no heartbeat series.
        QCOMPARE(sampleValue(before, R"(stoa_hub_group_devices{group="lobby",state="never"})"), std::optional<double>(1));
        QCOMPARE(sampleValue(before, R"(stoa_hub_group_devices{group="lobby",state="online"})"), std::optional<double>(0));
        QVERIFY(!sampleValue(before, R"(stoa_hub_device_last_heartbeat_timestamp_seconds{device="pi-1"})"));

        const auto t0 = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        QCOMPARE(h->client(h->dev1)
                     ->post("/v1/devices/pi-1/status",
                            heartbeat("pi-1", 3, R"({"cpu_temp_c":81.5,"throttled":true,"disk_free_bytes":123})", true, 4))
                     .status,
                 204L);
        QCOMPARE(h->client(h->dev2)
                     ->post("/v1/devices/pi-2/status",
                            heartbeat("pi-2", 3, R"({"cpu_temp_c":null,"throttled":null,"disk_free_bytes":null})"))
                     .status,
                 204L);
        const auto m = metrics();
        const auto seen = sampleValue(m, R"(stoa_hub_device_last_heartbeat_timestamp_seconds{device="pi-1"})");
        QVERIFY2(seen && *seen >= t0 - 1 && *seen <= t0 + 60, m.c_str());
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_disk_free_bytes{device="pi-1"})"), std::optional<double>(123));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_cpu_temperature_celsius{device="pi-1"})"), std::optional<double>(81.5));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_throttled{device="pi-1"})"), std::optional<double>(1));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_manifest_stale{device="pi-1"})"), std::optional<double>(1));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_manifest_version{device="pi-1"})"), std::optional<double>(3));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_manifest_expiry_timestamp_seconds{device="pi-1"})"),
                 std::optional<double>(1893456000));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_sync_consecutive_failures{device="pi-1"})"), std::optional<double>(4));
        QCOMPARE(sampleValue(m, R"(stoa_hub_group_devices{group="lobby",state="online"})"), std::optional<double>(1));
        QCOMPARE(sampleValue(m, R"(stoa_hub_group_devices{group="lobby",state="never"})"), std::optional<double>(0));
        // pi-2 reports no sensors: no series rather than fake zeros.
        QVERIFY(sampleValue(m, R"(stoa_hub_device_last_heartbeat_timestamp_seconds{device="pi-2"})"));
        QVERIFY(!sampleValue(m, R"(stoa_hub_device_disk_free_bytes{device="pi-2"})"));
        QVERIFY(!sampleValue(m, R"(stoa_hub_device_cpu_temperature_celsius{device="pi-2"})"));
        QCOMPARE(sampleValue(m, R"(stoa_hub_device_sync_consecutive_failures{device="pi-2"})"), std::optional<double>(0));

        // A newer heartbeat is read again (the cache follows last_seen).
        // Not a wait for anything: receipt times are in ms, and the cache
        // re-reads a heartbeat whose receipt time differs.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        QCOMPARE(h->client(h->dev1)
                     ->post("/v1/devices/pi-1/status",
                            heartbeat("pi-1", 3, R"({"cpu_temp_c":60,"throttled":false,"disk_free_bytes":999})"))
                     .status,
                 204L);
        const auto again = metrics();
        QCOMPARE(sampleValue(again, R"(stoa_hub_device_disk_free_bytes{device="pi-1"})"), std::optional<double>(999));
        QCOMPARE(sampleValue(again, R"(stoa_hub_device_throttled{device="pi-1"})"), std::optional<double>(0));
        QCOMPARE(sampleValue(again, R"(stoa_hub_device_manifest_stale{device="pi-1"})"), std::optional<double>(0));

        // Revoked: every series of the device ends, and its group empties.
        QVERIFY(h->hub->storage().revokeDevice("pi-1"));
        const auto gone = metrics();
        for (const char *name : {"stoa_hub_device_last_heartbeat_timestamp_seconds", "stoa_hub_device_disk_free_bytes",
                                 "stoa_hub_device_manifest_version", "stoa_hub_device_throttled"})
            QVERIFY2(!sampleValue(gone, std::string(name) + R"({device="pi-1"})"), name);
        QVERIFY(gone.find(R"(group="lobby")") == std::string::npos);
        QVERIFY(sampleValue(gone, R"(stoa_hub_device_last_heartbeat_timestamp_seconds{device="pi-2"})"));
    }

    void offlineDevicesKeepOnlyTheirLastHeartbeat()
    {
        // A hub whose "online" window is 300 ms: once it passes, the series
        // read from the heartbeat go (they no longer describe the device),
        // the last-heartbeat one stays (the offline alert reads it).
        h.reset();
        h = std::make_unique<HubHarness>();
        HubOptions options;
        options.onlineMs = 300;
        options.staleMs = 600;
        const auto e = h->start(backends, options);
        QVERIFY2(e.empty(), e.c_str());
        QVERIFY(h->hub->storage().setDeviceGroup("pi-1", std::string("lobby")));
        QCOMPARE(h->client(h->dev1)
                     ->post("/v1/devices/pi-1/status", heartbeat("pi-1", 3, R"({"disk_free_bytes":5})"))
                     .status,
                 204L);
        QVERIFY(sampleValue(metrics(), R"(stoa_hub_device_disk_free_bytes{device="pi-1"})"));
        QTRY_VERIFY_WITH_TIMEOUT(
            sampleValue(metrics(), R"(stoa_hub_group_devices{group="lobby",state="offline"})") == std::optional<double>(1),
            10000);
        const auto m = metrics();
        QVERIFY(!sampleValue(m, R"(stoa_hub_device_disk_free_bytes{device="pi-1"})"));
        QVERIFY(!sampleValue(m, R"(stoa_hub_device_manifest_version{device="pi-1"})"));
        QVERIFY(sampleValue(m, R"(stoa_hub_device_last_heartbeat_timestamp_seconds{device="pi-1"})"));
    }

    void publicationAdoption()
    {
        QCOMPARE(sampleValue(metrics(), "stoa_hub_publication_version"), std::optional<double>(0));
        auto ed = h->client(h->admin);
        QCOMPARE(ed->put("/api/v1/media/logo.png", kPng, "image/png").status, 200L);
        const auto published = ed->put("/api/v1/schedules/fleet", kFleet, "text/plain");
        QVERIFY2(published.status == 200, published.body.c_str());
        const int version = QJsonDocument::fromJson(QByteArray::fromStdString(published.body)).object().value("version").toInt();
        QVERIFY(version > 0);
        // Both devices online, one runs the new version: 1 of 2.
        QCOMPARE(h->client(h->dev1)->post("/v1/devices/pi-1/status", heartbeat("pi-1", version, "{}")).status, 204L);
        QCOMPARE(h->client(h->dev2)->post("/v1/devices/pi-2/status", heartbeat("pi-2", version - 1, "{}")).status, 204L);
        const auto m = metrics();
        QCOMPARE(sampleValue(m, "stoa_hub_publication_version"), std::optional<double>(version));
        const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        const auto at = sampleValue(m, "stoa_hub_publication_timestamp_seconds");
        QVERIFY2(at && *at > now - 60 && *at <= now + 1, m.c_str());
        QCOMPARE(sampleValue(m, "stoa_hub_publication_target_devices"), std::optional<double>(2));
        QCOMPARE(sampleValue(m, "stoa_hub_publication_adopted_devices"), std::optional<double>(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a later receipt time (ms), as above
        QCOMPARE(h->client(h->dev2)->post("/v1/devices/pi-2/status", heartbeat("pi-2", version, "{}")).status, 204L);
        QCOMPARE(sampleValue(metrics(), "stoa_hub_publication_adopted_devices"), std::optional<double>(2));
    }
};

QTEST_GUILESS_MAIN(FleetMetricsTest)
#include "tst_fleet_metrics.moc"
