// stoa-syncd — the sync agent process. Thin: options, wiring, stopSignals.
// The platform layer (identity, sensors, systemd) and the local endpoints
// are plugged in here, at the edge; the Agent knows neither.
#include "cache/scrub.h"
#include "cache/store.h"
#include "endpoints/log_format.h"
#include "endpoints/process_metrics.h"
#include "endpoints/server.h"
#include "platform/rpi/tool_runner.h"
#include "platform/rpi/device_identity.h"
#include "platform/rpi/health.h"
#include "platform/rpi/service_notifier.h"
#include "platform/rpi/time_sync.h"
#include "platform/rpi/watchdog_feeder.h"
#include "schedule/keys.h"
#include "sync/agent.h"
#include "sync/config.h"
#include "sync/logging.h"
#include "sync/wake_listener.h"

#include <QCoreApplication>
#include <QFile>
#include <QStandardPaths>

#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <random>
#include <thread>

using namespace stoa;

int main(int argc, char **argv)
{
    // SIGTERM/SIGINT are taken by sigwait() below, not by a handler.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

    endpoints::installLogFormat();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("stoa-syncd");
    QCoreApplication::setApplicationVersion(STOA_VERSION);
    const QStringList args = app.arguments();
    if (args.contains("--help") || args.contains("-h")) {
        std::fputs(sync::agentUsage(), stdout);
        return 0;
    }
    if (args.contains("--version")) {
        std::printf("stoa-syncd %s\n", STOA_VERSION);
        return 0;
    }
    QStringList configArgs = args;
    const bool checkOnly = configArgs.removeAll("--check-config") > 0;
    auto config = sync::loadAgentConfig(configArgs);
    if (!config) {
        std::fprintf(stderr, "stoa-syncd: %s\n", config.error().message.c_str());
        return 2;
    }
    if (checkOnly) {
        std::printf("stoa-syncd: configuration ok (server %s)\n", config->server.c_str());
        return 0;
    }
    auto identity = platform::resolveDeviceId(config->deviceId);
    if (!identity) {
        std::fprintf(stderr, "stoa-syncd: %s\n", identity.error().c_str());
        return 2;
    }
    const std::string deviceId = identity->id;
    auto roots = schedule::loadPublicKeysPemFile(QString::fromStdString(config->trustedKeys));
    if (!roots) {
        std::fprintf(stderr, "stoa-syncd: trusted keys: %s\n", qPrintable(roots.error().reason));
        return 2;
    }
    cache::StoreOptions storeOptions;
    storeOptions.dataDir = config->dataDir;
    storeOptions.limits = {config->quotaBytes, config->minFreeBytes};
    storeOptions.maxPlayRecords = config->maxPlayRecords;
    auto store = cache::Store::open(storeOptions);
    if (!store) {
        std::fprintf(stderr, "stoa-syncd: store %s: %s\n", config->dataDir.c_str(), store.error().message.c_str());
        return 1;
    }

    // Live = the loop turned, or a transfer moved, within 10 s (spec §8).
    endpoints::Liveness liveness;
    endpoints::MetricsRegistry metrics;
    (void)endpoints::addProcessMetrics(metrics);
    sync::AgentMetrics agentMetrics(metrics);

    // SD cards rot: re-hash stored blobs slowly in the background; a blob
    // that no longer matches its name is removed and fetched again.
    std::unique_ptr<cache::Scrubber> scrubber;
    if (config->scrubBytesPerSecond > 0) {
        if (auto s = cache::Scrubber::open(config->dataDir, {config->scrubBytesPerSecond, std::chrono::minutes(10)})) {
            scrubber = std::move(*s);
            scrubber->start();
        } else {
            qCWarning(sync::lcSync, "background scrub not available: %s", s.error().message.c_str());
        }
    }

    sync::HttpOptions http;
    http.onActivity = [&liveness] { liveness.tick(); };
    http.userAgent = "stoa/" STOA_VERSION " (" + deviceId + ")";
    http.caFile = config->caFile;
    http.lowSpeedLimit = config->lowSpeedLimit;
    http.lowSpeedTimeS = config->lowSpeedTimeS;
    http.receiveBufferBytes = int(config->receiveBufferBytes);
    if (config->maxDownloadRate > 0)
        http.maxRecvBytesPerSecond = std::max<std::int64_t>(1, config->maxDownloadRate / config->parallelDownloads);
    if (!config->tokenFile.empty()) {
        QFile f(QString::fromStdString(config->tokenFile));
        if (!f.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "stoa-syncd: cannot read token_file %s\n", config->tokenFile.c_str());
            return 2;
        }
        http.bearerToken = f.readAll().trimmed().toStdString();
    }
    sync::HttpClient client(http);

    auto persistedFloor = (*store)->kv().getInt("time_floor_ms");
    platform::AdjtimexTimeSync timeSync; // spec §7: NTP state from the kernel
    schedule::TrustedClock clock(schedule::Clocks::system([&timeSync] { return timeSync.synchronized(); }),
                                 persistedFloor ? *persistedFloor : std::optional<std::int64_t>());
    sync::Agent agent(*config, deviceId, **store, client, schedule::TrustStore(std::move(*roots)), clock,
                      std::random_device{}());
    platform::ProcessRunner runner;
    platform::PiHealthOptions healthOptions;
    healthOptions.dataDir = QString::fromStdString(config->dataDir);
    healthOptions.vcgencmdPath = QStandardPaths::findExecutable(QStringLiteral("vcgencmd")); // Pi OS only
    platform::PiHealthSource healthSource(healthOptions, runner);
    sync::AgentObservers observers;
    observers.liveness = &liveness;
    observers.metrics = &agentMetrics;
    observers.health = [&healthSource] { return healthSource.read(); };
    agent.setObservers(observers);
    qCInfo(sync::lcSync, "stoa-syncd %s: device %s (%s), server %s, store %s", STOA_VERSION, deviceId.c_str(),
           qPrintable(platform::deviceIdSourceName(identity->source)), config->server.c_str(),
           config->dataDir.c_str());

    // Endpoints: a bind failure is logged and the agent syncs on without them.
    endpoints::LocalServer server({}, &metrics);
    server.routeHealth(liveness);
    server.routeMetrics(metrics);
    if (auto started = server.start(config->listen); !started)
        qCWarning(sync::lcSync, "local endpoints on %s not available: %s", config->listen.c_str(),
                  started.error().message.c_str());

    platform::SystemdNotifier notifier;
    platform::WatchdogFeeder feeder(notifier, [&liveness] { return liveness.isLive(); });
    liveness.tick();
    (void)notifier.ready();
    (void)notifier.status("syncing with " + config->server);
    feeder.start();

    // §10: a held request on its own connection brings the manifest poll
    // forward when the server says something changed.
    sync::WakeListenerOptions wakeOptions;
    wakeOptions.server = config->server;
    wakeOptions.deviceId = deviceId;
    wakeOptions.http = http;
    wakeOptions.http.onActivity = nullptr; // a held request is not progress of the agent's loop
    wakeOptions.backoff = config->backoff;
    sync::WakeListener wakeListener(wakeOptions, [&agent] { agent.wakeUp(); }, std::random_device{}());
    wakeListener.start();

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&stopSignals, &sig);
        qCInfo(sync::lcSync, "signal %d: stopping", sig);
        wakeListener.stop();
        agent.stop();
    });
    agent.run(); // returns once the waiter saw a signal and stopped it
    (void)notifier.stopping();
    feeder.stop();
    if (scrubber)
        scrubber->stop();
    server.stop();
    waiter.join();
    return 0;
}
