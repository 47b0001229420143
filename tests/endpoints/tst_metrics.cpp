// tests/endpoints/tst_metrics.cpp — the metrics registry: naming rules,
// value formatting, the exact 0.0.4 text, collectors, process metrics, and
// `promtool check metrics` (the real binary) accepting what we render.
#include "endpoints/exposition.h"
#include "endpoints/metrics.h"
#include "endpoints/process_metrics.h"

#include "process_probe.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <thread>

using namespace stoa::endpoints;
using stoa::endpoints::testing::sampleValue;

Q_DECLARE_METATYPE(MetricType)

class TestMetrics : public QObject {
    Q_OBJECT

private slots:
    void formatValue_data();
    void formatValue();
    void metricNames_data();
    void metricNames();
    void labelNames_data();
    void labelNames();
    void renderExact();
    void registerTwice();
    void histogramSeriesCollide();
    void badDefinitions();
    void wrongLabelCount();
    void removeChild();
    void counterNeverDecreases();
    void histogramBuckets();
    void collectorsRefreshBeforeRender();
    void concurrentUpdates();
    void processMetrics();
    void promtoolAccepts();
};

void TestMetrics::formatValue_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<QString>("text");
    QTest::newRow("zero") << 0.0 << "0";
    QTest::newRow("negative zero") << -0.0 << "-0";
    QTest::newRow("integer") << 42.0 << "42";
    QTest::newRow("half") << 0.5 << "0.5";
    QTest::newRow("tenth (shortest round-trip)") << 0.1 << "0.1";
    QTest::newRow("third") << 1.0 / 3 << "0.3333333333333333";
    QTest::newRow("large integer") << 123456789012.0 << "123456789012";
    QTest::newRow("2^53") << 9007199254740992.0 << "9007199254740992";
    QTest::newRow("huge") << 1e21 << "1e+21";
    QTest::newRow("tiny") << 1.5e-7 << "1.5e-07";
    QTest::newRow("negative") << -2.25 << "-2.25";
    QTest::newRow("NaN") << std::numeric_limits<double>::quiet_NaN() << "NaN";
    QTest::newRow("+Inf") << std::numeric_limits<double>::infinity() << "+Inf";
    QTest::newRow("-Inf") << -std::numeric_limits<double>::infinity() << "-Inf";
}

void TestMetrics::formatValue()
{
    QFETCH(double, value);
    QFETCH(QString, text);
    const auto out = exposition::formatValue(value);
    QCOMPARE(QString::fromStdString(out), text);
    if (std::isfinite(value))
        QCOMPARE(std::stod(out), value); // round-trips
}

void TestMetrics::metricNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<MetricType>("type");
    QTest::addColumn<bool>("valid");
    using T = MetricType;
    QTest::newRow("counter") << "stoa_sync_requests_total" << T::Counter << true;
    QTest::newRow("gauge bytes") << "stoa_store_used_bytes" << T::Gauge << true;
    QTest::newRow("gauge celsius") << "stoa_device_cpu_temperature_celsius" << T::Gauge << true;
    QTest::newRow("histogram seconds") << "stoa_playback_transition_seconds" << T::Histogram << true;
    QTest::newRow("digits") << "stoa_http2_streams" << T::Gauge << true;
    QTest::newRow("counter without _total") << "stoa_sync_requests" << T::Counter << false;
    QTest::newRow("gauge with _total") << "stoa_store_blobs_total" << T::Gauge << false;
    QTest::newRow("histogram with _total") << "stoa_x_seconds_total" << T::Histogram << false;
    QTest::newRow("no prefix") << "sync_requests_total" << T::Counter << false;
    QTest::newRow("prefix only") << "stoa_" << T::Gauge << false;
    QTest::newRow("other prefix") << "stoax_bytes" << T::Gauge << false;
    QTest::newRow("upper case") << "stoa_Store_bytes" << T::Gauge << false;
    QTest::newRow("trailing underscore") << "stoa_store_bytes_" << T::Gauge << false;
    QTest::newRow("dash") << "stoa_store-bytes" << T::Gauge << false;
    QTest::newRow("colon") << "stoa_store:bytes" << T::Gauge << false;
    QTest::newRow("milliseconds") << "stoa_transition_milliseconds" << T::Histogram << false;
    QTest::newRow("ms") << "stoa_latency_ms" << T::Gauge << false;
    QTest::newRow("kilobytes counter") << "stoa_download_kilobytes_total" << T::Counter << false;
    QTest::newRow("mib") << "stoa_cache_mib" << T::Gauge << false;
    QTest::newRow("percent") << "stoa_cpu_percent" << T::Gauge << false;
    QTest::newRow("minutes") << "stoa_uptime_minutes" << T::Gauge << false;
    QTest::newRow("histogram _count") << "stoa_items_count" << T::Histogram << false;
}

void TestMetrics::metricNames()
{
    QFETCH(QString, name);
    QFETCH(MetricType, type);
    QFETCH(bool, valid);
    const auto r = MetricsRegistry::checkName(name.toStdString(), type);
    QCOMPARE(r.has_value(), valid);
    if (!valid) {
        QCOMPARE(r.error().code, ErrorCode::InvalidName);
        QVERIFY2(r.error().message.find(name.toStdString()) != std::string::npos,
                 r.error().message.c_str()); // the message names the culprit
    }
    // Registration applies the same rule.
    MetricsRegistry registry;
    bool registered = false;
    switch (type) {
    case MetricType::Counter: registered = registry.counter(name.toStdString(), "h").has_value(); break;
    case MetricType::Gauge: registered = registry.gauge(name.toStdString(), "h").has_value(); break;
    case MetricType::Histogram:
        registered = registry.histogram(name.toStdString(), "h", {1.0}).has_value();
        break;
    }
    QCOMPARE(registered, valid);
}

void TestMetrics::labelNames_data()
{
    QTest::addColumn<QString>("label");
    QTest::addColumn<MetricType>("type");
    QTest::addColumn<bool>("valid");
    QTest::newRow("plain") << "kind" << MetricType::Counter << true;
    QTest::newRow("underscore first") << "_kind" << MetricType::Gauge << true;
    QTest::newRow("le on a gauge") << "le" << MetricType::Gauge << true;
    QTest::newRow("le on a histogram") << "le" << MetricType::Histogram << false;
    QTest::newRow("reserved") << "__name" << MetricType::Gauge << false;
    QTest::newRow("upper case") << "Kind" << MetricType::Gauge << false;
    QTest::newRow("digit first") << "1kind" << MetricType::Gauge << false;
    QTest::newRow("dash") << "a-b" << MetricType::Gauge << false;
    QTest::newRow("empty") << "" << MetricType::Gauge << false;
}

void TestMetrics::labelNames()
{
    QFETCH(QString, label);
    QFETCH(MetricType, type);
    QFETCH(bool, valid);
    QCOMPARE(MetricsRegistry::checkLabelName(label.toStdString(), type).has_value(), valid);
    MetricsRegistry registry;
    const bool registered =
        type == MetricType::Histogram
            ? registry.histogramFamily("stoa_x_seconds", "h", {1.0}, {label.toStdString()}).has_value()
            : registry.gaugeFamily("stoa_x_bytes", "h", {label.toStdString()}).has_value();
    QCOMPARE(registered, valid);
}

void TestMetrics::renderExact()
{
    MetricsRegistry registry;
    auto items = registry.counterFamily("stoa_playback_items_total",
                                        "Items played, by kind and outcome.", {"kind", "outcome"});
    auto version = registry.gauge("stoa_manifest_version", "Active manifest version.");
    auto transition = registry.histogram("stoa_playback_transition_seconds", "Transition time.",
                                         {0.05, 0.125, 0.5});
    auto requests = registry.histogramFamily("stoa_sync_request_seconds", "Sync request time.",
                                             {1, 10}, {"outcome"});
    auto escaping = registry.gaugeFamily("stoa_test_escaping",
                                         "Help with \\ and \"quotes\"\nand a newline.", {"value"});
    QVERIFY(items && version && transition && requests && escaping);

    items->labels({"video", "played"}).inc(3);
    items->labels({"image", "failed"}).inc();
    version->set(42);
    for (double v : {0.03125, 0.125, 0.25, 2.0})
        transition->observe(v);
    requests->labels({"ok"}).observe(0.5);
    escaping->labels({"a\\b\"c\nd"}).set(1.5);

    const std::string expected =
        "# HELP stoa_manifest_version Active manifest version.\n"
        "# TYPE stoa_manifest_version gauge\n"
        "stoa_manifest_version 42\n"
        "# HELP stoa_playback_items_total Items played, by kind and outcome.\n"
        "# TYPE stoa_playback_items_total counter\n"
        "stoa_playback_items_total{kind=\"image\",outcome=\"failed\"} 1\n"
        "stoa_playback_items_total{kind=\"video\",outcome=\"played\"} 3\n"
        "# HELP stoa_playback_transition_seconds Transition time.\n"
        "# TYPE stoa_playback_transition_seconds histogram\n"
        "stoa_playback_transition_seconds_bucket{le=\"0.05\"} 1\n"
        "stoa_playback_transition_seconds_bucket{le=\"0.125\"} 2\n"
        "stoa_playback_transition_seconds_bucket{le=\"0.5\"} 3\n"
        "stoa_playback_transition_seconds_bucket{le=\"+Inf\"} 4\n"
        "stoa_playback_transition_seconds_sum 2.40625\n"
        "stoa_playback_transition_seconds_count 4\n"
        "# HELP stoa_sync_request_seconds Sync request time.\n"
        "# TYPE stoa_sync_request_seconds histogram\n"
        "stoa_sync_request_seconds_bucket{outcome=\"ok\",le=\"1\"} 1\n"
        "stoa_sync_request_seconds_bucket{outcome=\"ok\",le=\"10\"} 1\n"
        "stoa_sync_request_seconds_bucket{outcome=\"ok\",le=\"+Inf\"} 1\n"
        "stoa_sync_request_seconds_sum{outcome=\"ok\"} 0.5\n"
        "stoa_sync_request_seconds_count{outcome=\"ok\"} 1\n"
        "# HELP stoa_test_escaping Help with \\\\ and \"quotes\"\\nand a newline.\n"
        "# TYPE stoa_test_escaping gauge\n"
        "stoa_test_escaping{value=\"a\\\\b\\\"c\\nd\"} 1.5\n";
    QCOMPARE(QString::fromStdString(registry.render()), QString::fromStdString(expected));
}

void TestMetrics::registerTwice()
{
    MetricsRegistry registry;
    auto a = registry.counter("stoa_sync_requests_total", "Requests.");
    auto b = registry.counter("stoa_sync_requests_total", "Requests.");
    QVERIFY(a && b);
    b->inc(2);
    QCOMPARE(a->value(), 2.0); // the same metric

    auto otherHelp = registry.counter("stoa_sync_requests_total", "Something else.");
    QVERIFY(!otherHelp);
    QCOMPARE(otherHelp.error().code, ErrorCode::AlreadyRegistered);
    auto otherLabels = registry.counterFamily("stoa_sync_requests_total", "Requests.", {"outcome"});
    QVERIFY(!otherLabels);
    QCOMPARE(otherLabels.error().code, ErrorCode::AlreadyRegistered);
    auto otherType = registry.histogram("stoa_store_bytes", "B.", {1});
    QVERIFY(otherType);
    QVERIFY(!registry.gauge("stoa_store_bytes", "B."));
}

void TestMetrics::histogramSeriesCollide()
{
    MetricsRegistry registry;
    QVERIFY(registry.histogram("stoa_fetch_seconds", "h", {1}));
    for (const char *name : {"stoa_fetch_seconds_sum", "stoa_fetch_seconds_bucket",
                             "stoa_fetch_seconds_count"}) {
        auto g = registry.gauge(name, "h");
        QVERIFY2(!g, name);
        QCOMPARE(g.error().code, ErrorCode::AlreadyRegistered);
    }
    QVERIFY(registry.gauge("stoa_wait_seconds_count", "h"));
    QVERIFY(!registry.histogram("stoa_wait_seconds", "h", {1}));
}

void TestMetrics::badDefinitions()
{
    MetricsRegistry registry;
    const auto inf = std::numeric_limits<double>::infinity();
    for (const auto &bounds : std::vector<std::vector<double>>{{}, {1, 1}, {2, 1}, {1, inf}}) {
        auto h = registry.histogram("stoa_x_seconds", "h", bounds);
        QVERIFY(!h);
        QCOMPARE(h.error().code, ErrorCode::InvalidArgument);
    }
    auto noHelp = registry.gauge("stoa_x_bytes", "");
    QVERIFY(!noHelp);
    QCOMPARE(noHelp.error().code, ErrorCode::InvalidArgument);
    auto dupLabel = registry.gaugeFamily("stoa_x_bytes", "h", {"a", "a"});
    QVERIFY(!dupLabel);
    QCOMPARE(dupLabel.error().code, ErrorCode::InvalidName);
    QCOMPARE(QString::fromStdString(registry.render()), QString()); // nothing half-registered
}

void TestMetrics::wrongLabelCount()
{
    MetricsRegistry registry;
    auto f = registry.counterFamily("stoa_items_total", "h", {"kind", "outcome"});
    QVERIFY(f);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("takes 2 label values, got 1"));
    f->labels({"video"}).inc(); // detached: goes nowhere
    QCOMPARE(QString::fromStdString(registry.render()),
             QString("# HELP stoa_items_total h\n# TYPE stoa_items_total counter\n"));
}

// A child removed is no longer rendered (its series ends), an old handle's
// writes go nowhere visible, and asking again starts a fresh child from 0.
void TestMetrics::removeChild()
{
    MetricsRegistry registry;
    auto f = registry.gaugeFamily("stoa_device_bytes", "h", {"device"});
    QVERIFY(f);
    auto a = f->labels({"a"});
    a.set(5);
    f->labels({"b"}).set(7);
    QCOMPARE(f->children(), (std::vector<std::vector<std::string>>{{"a"}, {"b"}}));
    QVERIFY(f->remove({"a"}));
    QVERIFY(!f->remove({"a"}));
    QVERIFY(!f->remove({"nobody"}));
    a.set(9); // a handle to the removed child: not rendered
    QCOMPARE(QString::fromStdString(registry.render()),
             QString("# HELP stoa_device_bytes h\n# TYPE stoa_device_bytes gauge\nstoa_device_bytes{device=\"b\"} 7\n"));
    QCOMPARE(f->children(), (std::vector<std::vector<std::string>>{{"b"}}));
    QCOMPARE(f->labels({"a"}).value(), 0.0);
    QVERIFY(!GaugeFamily().remove({"a"})); // detached
    QVERIFY(GaugeFamily().children().empty());
}

void TestMetrics::counterNeverDecreases()
{
    MetricsRegistry registry;
    auto c = registry.counter("stoa_items_total", "h");
    QVERIFY(c);
    c->inc(5);
    c->inc(-3);
    c->inc(std::numeric_limits<double>::quiet_NaN());
    QCOMPARE(c->value(), 5.0);
    c->setTotal(7);
    QCOMPARE(sampleValue(registry.render(), "stoa_items_total"), std::optional<double>(7));
}

void TestMetrics::histogramBuckets()
{
    MetricsRegistry registry;
    auto h = registry.histogram("stoa_x_seconds", "h", exponentialBuckets(0.001, 10, 4));
    QVERIFY(h);
    for (double v : {0.0005, 0.001, 0.0011, 0.5, 1.0, 5.0, std::nan("")})
        h->observe(v);
    const auto s = h->snapshot();
    // Bounds 0.001 0.01 0.1 1, inclusive; NaN ignored.
    QCOMPARE(s.cumulative, (std::vector<std::uint64_t>{2, 3, 3, 5, 6}));
    QCOMPARE(s.count, std::uint64_t(6));
    QCOMPARE(linearBuckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
}

void TestMetrics::collectorsRefreshBeforeRender()
{
    MetricsRegistry registry;
    std::atomic<std::int64_t> storeBytes{1000}; // "the store's usage"
    auto used = registry.gauge("stoa_store_used_bytes", "Bytes used.");
    QVERIFY(used);
    const auto id = registry.addCollector([&storeBytes, g = *used] { g.set(double(storeBytes.load())); });
    registry.addCollector([] { throw std::runtime_error("broken collector"); });

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("collector .* threw: broken collector"));
    QCOMPARE(sampleValue(registry.render(), "stoa_store_used_bytes"), std::optional<double>(1000));
    storeBytes = 123456789;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("collector .* threw: broken collector"));
    QCOMPARE(sampleValue(registry.render(), "stoa_store_used_bytes"), std::optional<double>(123456789));

    registry.removeCollector(id);
    storeBytes = 5;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("collector .* threw: broken collector"));
    QCOMPARE(sampleValue(registry.render(), "stoa_store_used_bytes"), std::optional<double>(123456789));
}

void TestMetrics::concurrentUpdates()
{
    MetricsRegistry registry;
    auto c = registry.counterFamily("stoa_items_total", "h", {"kind"});
    auto h = registry.histogram("stoa_x_seconds", "h", {0.5});
    QVERIFY(c && h);
    constexpr int kThreads = 4, kEach = 20000;
    std::vector<std::thread> threads;
    std::atomic<bool> done{false};
    std::thread renderer([&] {
        while (!done)
            (void)registry.render();
    });
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                c->labels({t % 2 ? "odd" : "even"}).inc();
                h->observe(i % 2 ? 0.25 : 1.0);
            }
        });
    }
    for (auto &t : threads)
        t.join();
    done = true;
    renderer.join();
    const auto text = registry.render();
    QCOMPARE(sampleValue(text, "stoa_items_total{kind=\"even\"}"), std::optional<double>(2 * kEach));
    QCOMPARE(sampleValue(text, "stoa_items_total{kind=\"odd\"}"), std::optional<double>(2 * kEach));
    QCOMPARE(sampleValue(text, "stoa_x_seconds_count"), std::optional<double>(kThreads * kEach));
    QCOMPARE(sampleValue(text, "stoa_x_seconds_bucket{le=\"0.5\"}"),
             std::optional<double>(kThreads * kEach / 2));
}

void TestMetrics::processMetrics()
{
    MetricsRegistry registry;
    QVERIFY(addProcessMetrics(registry));
    const auto before = registry.render();
    const auto rss = sampleValue(before, "stoa_process_resident_memory_bytes");
    const auto start = sampleValue(before, "stoa_process_start_time_seconds");
    const auto fds = sampleValue(before, "stoa_process_open_fds");
    const auto cpu = sampleValue(before, "stoa_process_cpu_seconds_total");
    QVERIFY(rss && start && fds && cpu);
    QVERIFY2(*rss > 1024 * 1024, before.c_str());
    const double now = double(QDateTime::currentSecsSinceEpoch());
    QVERIFY2(*start > now - 3600 && *start <= now + 2, before.c_str()); // this test started recently
    QVERIFY(*sampleValue(before, "stoa_process_threads") >= 1);

    // State moves, values move: open files, burn CPU.
    QTemporaryDir dir;
    std::vector<std::unique_ptr<QFile>> files;
    for (int i = 0; i < 5; ++i) {
        files.push_back(std::make_unique<QFile>(dir.filePath(QString::number(i))));
        QVERIFY(files.back()->open(QIODevice::WriteOnly));
    }
    QCOMPARE(*sampleValue(registry.render(), "stoa_process_open_fds"), *fds + 5);
    volatile double sink = 0;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        for (int i = 0; i < 2'000'000; ++i)
            sink = sink + std::sqrt(double(i));
        return *sampleValue(registry.render(), "stoa_process_cpu_seconds_total") > *cpu;
    }()), 10000);
}

void TestMetrics::promtoolAccepts()
{
    if (!QFile::exists(QStringLiteral("/usr/bin/promtool")))
        QSKIP("promtool is not installed (Debian package prometheus)");

    MetricsRegistry registry;
    QVERIFY(addProcessMetrics(registry));
    auto items = registry.counterFamily("stoa_playback_items_total", "Items played.", {"kind", "outcome"});
    auto stale = registry.gauge("stoa_manifest_stale", "1 when the active manifest is stale.");
    auto odd = registry.gaugeFamily("stoa_test_values", "Odd values: \\ \"q\"\nnext line.", {"v"});
    auto h = registry.histogramFamily("stoa_playback_transition_seconds", "Transition time.",
                                      {0.01, 0.1, 1}, {"kind"});
    QVERIFY(items && stale && odd && h);
    items->labels({"video", "played"}).inc(12);
    items->labels({"image", "skipped"}).inc();
    stale->set(1);
    odd->labels({"nan"}).set(std::nan(""));
    odd->labels({"inf"}).set(std::numeric_limits<double>::infinity());
    odd->labels({"-inf"}).set(-std::numeric_limits<double>::infinity());
    odd->labels({"tiny"}).set(1.5e-300);
    odd->labels({"big"}).set(1e300);
    odd->labels({"quote\" backslash\\ newline\n utf8 ü"}).set(-0.0);
    odd->labels({std::string("invalid utf8 \xff\xfe")}).set(1);
    h->labels({"video"}).observe(0.05);
    h->labels({"image"}).observe(3);

    const auto text = registry.render();
    QString why;
    QVERIFY2(stoa::endpoints::testing::promtoolAccepts(text, why),
             qPrintable(why + "\n" + QString::fromStdString(text)));

    // The check can fail: a counter without _total and no HELP is linted.
    QVERIFY2(!stoa::endpoints::testing::promtoolAccepts("# TYPE stoa_items counter\nstoa_items 1\n", why),
             qPrintable(why));
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
