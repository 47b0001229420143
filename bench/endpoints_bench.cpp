// bench/endpoints_bench.cpp — the local endpoint server's figures (issue 6):
// requests/s for /metrics and /healthz from loopback clients, and whether the
// load disturbs a 16 ms "frame" timer on the Qt event loop of the main thread.
//
// Three phases, each with the frame timer running on the main thread (which
// also ticks the Liveness, as the player's render loop would):
//   idle      no clients;
//   paced     clients capped at --rate requests/s in total (the 200);
//   saturate  --clients threads sending requests back to back.
// Per phase it prints requests/s by path, client-side latency p50/p99, and
// the frame timer's lateness (how much longer than 16 ms an interval took):
// max and p99. The client threads run in this process too, so on a machine
// with few cores the saturate phase also measures CPU contention from the
// clients themselves, not only from the server.
//
// Usage: endpoints_bench [--seconds N] [--clients N] [--rate R]
#include "endpoints/liveness.h"
#include "endpoints/metrics.h"
#include "endpoints/process_metrics.h"
#include "endpoints/server.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QLoggingCategory>
#include <QTimer>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

using namespace stoa::endpoints;
using Clock = std::chrono::steady_clock;

namespace {

// One request on a fresh connection; true on a 200 with the full body read.
bool fetch(std::uint16_t port, const std::string &request)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0
        && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
        std::string reply;
        char buf[16384];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
            reply.append(buf, std::size_t(n));
        ok = reply.starts_with("HTTP/1.1 200 ");
    }
    ::close(fd);
    return ok;
}

struct LoadResult {
    std::atomic<long> metricsOk{0}, healthOk{0}, failed{0};
    std::mutex mutex;
    std::vector<double> latencyMs;
};

// `threads` clients alternating /metrics and /healthz until `stop`; with
// rate > 0 they pace themselves to `rate` requests/s in total.
std::vector<std::thread> startLoad(std::uint16_t port, int threads, double rate,
                                   std::atomic<bool> &stop, LoadResult &result)
{
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
        clients.emplace_back([=, &stop, &result] {
            const std::string metrics = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            const std::string health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            const auto period = rate > 0 ? std::chrono::duration<double>(threads / rate)
                                         : std::chrono::duration<double>(0);
            auto next = Clock::now();
            std::vector<double> lat;
            for (long i = t; !stop.load(); ++i) {
                if (rate > 0) {
                    next += std::chrono::duration_cast<Clock::duration>(period);
                    std::this_thread::sleep_until(next);
                }
                const bool isMetrics = i % 2 == 0;
                const auto t0 = Clock::now();
                const bool ok = fetch(port, isMetrics ? metrics : health);
                lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                if (!ok)
                    ++result.failed;
                else if (isMetrics)
                    ++result.metricsOk;
                else
                    ++result.healthOk;
            }
            std::lock_guard lock(result.mutex);
            result.latencyMs.insert(result.latencyMs.end(), lat.begin(), lat.end());
        });
    }
    return clients;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, std::size_t(p * double(v.size())))];
}

// Runs the main-thread frame timer for `seconds`; returns interval overruns in ms.
std::vector<double> runFrames(double seconds, Liveness &liveness)
{
    std::vector<double> lateness;
    QEventLoop loop;
    QTimer frame;
    frame.setTimerType(Qt::PreciseTimer);
    frame.setInterval(16);
    QElapsedTimer clock;
    qint64 last = -1;
    QObject::connect(&frame, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        if (last >= 0)
            lateness.push_back(std::max(0.0, double(now - last) / 1e6 - 16.0));
        last = now;
        liveness.tick();
    });
    QTimer::singleShot(int(seconds * 1000), &loop, &QEventLoop::quit);
    clock.start();
    frame.start();
    loop.exec();
    return lateness;
}

void registerRealisticMetrics(MetricsRegistry &r)
{
    // Roughly what the player and the agent will expose (issue 6's list).
    auto items = r.counterFamily("stoa_playback_items_total", "Items by kind and outcome.",
                                 {"kind", "outcome"});
    for (const char *kind : {"image", "video", "web"})
        for (const char *outcome : {"played", "skipped", "failed"})
            items->labels({kind, outcome}).inc(7);
    auto transition = r.histogram("stoa_playback_transition_seconds", "Transition time.",
                                  exponentialBuckets(0.005, 2, 10));
    for (int i = 0; i < 100; ++i)
        transition->observe(0.001 * i);
    auto requests = r.counterFamily("stoa_sync_requests_total", "Sync requests.", {"outcome"});
    for (const char *o : {"ok", "not_modified", "http_error", "network_error", "bad_signature"})
        requests->labels({o}).inc(3);
    for (const char *g : {"stoa_manifest_version", "stoa_manifest_stale", "stoa_sync_backoff_seconds",
                          "stoa_sync_consecutive_failures", "stoa_sync_last_success_time_seconds",
                          "stoa_store_used_bytes", "stoa_store_blobs", "stoa_device_cpu_temperature_celsius",
                          "stoa_device_throttled", "stoa_device_disk_free_bytes"})
        r.gauge(g, "A gauge.")->set(12345);
    for (const char *c : {"stoa_sync_downloaded_bytes_total", "stoa_store_evictions_total",
                          "stoa_store_scrub_failures_total"})
        r.counter(c, "A counter.")->inc(99);
}

void report(const char *phase, double seconds, LoadResult *load, const std::vector<double> &lateness)
{
    if (load) {
        std::printf("%-9s /metrics %7.0f req/s  /healthz %7.0f req/s  failed %ld  latency p50 %.2f ms p99 %.2f ms\n",
                    phase, double(load->metricsOk) / seconds, double(load->healthOk) / seconds,
                    load->failed.load(), percentile(load->latencyMs, 0.5), percentile(load->latencyMs, 0.99));
    } else {
        std::printf("%-9s (no clients)\n", phase);
    }
    std::printf("%-9s frame timer: %zu frames, lateness p99 %.2f ms, max %.2f ms\n", "",
                lateness.size(), percentile(lateness, 0.99),
                lateness.empty() ? 0.0 : *std::max_element(lateness.begin(), lateness.end()));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules(QStringLiteral("stoa.endpoints.debug=false"));
    double seconds = 5;
    int clients = 4;
    double rate = 200;
    const auto args = app.arguments();
    for (int i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == "--seconds")
            seconds = args[i + 1].toDouble();
        else if (args[i] == "--clients")
            clients = args[i + 1].toInt();
        else if (args[i] == "--rate")
            rate = args[i + 1].toDouble();
    }

    MetricsRegistry registry;
    if (!addProcessMetrics(registry))
        return 1;
    registerRealisticMetrics(registry);
    Liveness liveness;
    LocalServer server({}, &registry);
    server.routeHealth(liveness);
    server.routeMetrics(registry);
    if (auto ok = server.start("127.0.0.1:0"); !ok) {
        std::fprintf(stderr, "start: %s\n", ok.error().message.c_str());
        return 1;
    }
    liveness.tick();
    std::printf("endpoints_bench: %g s per phase, %d clients, paced rate %g req/s, /metrics body %zu bytes\n",
                seconds, clients, rate, registry.render().size());

    report("idle", seconds, nullptr, runFrames(seconds, liveness));

    for (const auto &[name, r] : {std::pair{"paced", rate}, std::pair{"saturate", 0.0}}) {
        LoadResult load;
        std::atomic<bool> stop{false};
        const auto t0 = Clock::now();
        auto threads = startLoad(server.port(), clients, r, stop, load);
        const auto lateness = runFrames(seconds, liveness);
        stop = true;
        for (auto &t : threads)
            t.join();
        report(name, std::chrono::duration<double>(Clock::now() - t0).count(), &load, lateness);
    }
    server.stop();
    return 0;
}
