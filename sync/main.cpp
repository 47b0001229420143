// stoa-syncd — the sync agent process. Thin: options, wiring, stopSignals.
#include "cache/store.h"
#include "schedule/keys.h"
#include "sync/agent.h"
#include "sync/config.h"
#include "sync/device_id.h"
#include "sync/logging.h"

#include <QCoreApplication>
#include <QFile>

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
    auto config = sync::loadAgentConfig(args);
    if (!config) {
        std::fprintf(stderr, "stoa-syncd: %s\n", config.error().message.c_str());
        return 2;
    }
    auto deviceId = sync::resolveDeviceId(config->deviceId);
    if (!deviceId) {
        std::fprintf(stderr, "stoa-syncd: %s\n", deviceId.error().c_str());
        return 2;
    }
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

    sync::HttpOptions http;
    http.userAgent = "stoa/" STOA_VERSION " (" + *deviceId + ")";
    http.caFile = config->caFile;
    http.lowSpeedLimit = config->lowSpeedLimit;
    http.lowSpeedTimeS = config->lowSpeedTimeS;
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
    schedule::TrustedClock clock(schedule::Clocks::system(),
                                 persistedFloor ? *persistedFloor : std::optional<std::int64_t>());
    sync::Agent agent(*config, *deviceId, **store, client, schedule::TrustStore(std::move(*roots)), clock,
                      std::random_device{}());
    qCInfo(sync::lcSync, "stoa-syncd %s: device %s, server %s, store %s", STOA_VERSION, deviceId->c_str(),
           config->server.c_str(), config->dataDir.c_str());

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&stopSignals, &sig);
        qCInfo(sync::lcSync, "signal %d: stopping", sig);
        agent.stop();
    });
    agent.run(); // returns once the waiter saw a signal and stopped it
    waiter.join();
    return 0;
}
