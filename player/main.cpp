// stoa-player — thin main: options, store, wiring. The logic is in stoa_player.
#include "cache/store.h"
#include "player/demo_store.h"
#include "player/fake_clock.h"
#include "player/logging.h"
#include "player/options.h"
#include "player/playback.h"
#include "player/shell.h"
#include "sync/device_id.h"

#include <QGuiApplication>
#include <QTimer>

#include <cstdio>

using namespace stoa;

int main(int argc, char **argv)
{
    QGuiApplication app(argc, argv); // takes Qt's own options (-platform ...) out of argv
    QGuiApplication::setApplicationName("stoa-player");
    QGuiApplication::setApplicationVersion(STOA_VERSION);

    auto options = player::parsePlayerOptions(app.arguments());
    if (!options) {
        std::fprintf(stderr, "stoa-player: %s\n", options.error().message.c_str());
        return 2;
    }
    if (options->help) {
        std::fputs(player::playerUsage(), stdout);
        return 0;
    }
    if (options->version) {
        std::printf("stoa-player %s\n", STOA_VERSION);
        return 0;
    }

    std::optional<player::DemoStore> demo;
    if (options->demo) {
        auto made = player::makeDemoStore();
        if (!made) {
            std::fprintf(stderr, "stoa-player: %s\n", made.error().c_str());
            return 3;
        }
        demo = std::move(*made);
        options->dataDir = demo->dataDir;
        if (options->deviceId.empty())
            options->deviceId = demo->deviceId;
    }
    auto deviceId = sync::resolveDeviceId(options->deviceId);
    if (!deviceId) {
        std::fprintf(stderr, "stoa-player: %s\n", deviceId.error().c_str());
        return 2;
    }
    if (options->listen != "127.0.0.1:0")
        qCInfo(player::lcPlayer, "--listen %s accepted: local endpoints come with the diagnostics issue",
               options->listen.c_str());

    cache::StoreOptions storeOptions;
    storeOptions.dataDir = options->dataDir;
    auto store = cache::Store::open(storeOptions);
    if (!store) {
        std::fprintf(stderr, "stoa-player: store %s: %s\n", options->dataDir.c_str(), store.error().message.c_str());
        return 3;
    }

    player::PlaybackConfig config;
    config.deviceId = *deviceId;
    config.rotation = options->rotation;
    config.fadeMs = options->fadeMs;
    player::Playback playback(**store, player::playerClocks(options->fakeNow), config);
    player::DiagnosticsConfig diagnostics;
    diagnostics.configuredServer = options->server;
    diagnostics.quotaBytes = options->quotaBytes;
    diagnostics.openAtStart = options->diagnostics;
    diagnostics.autoOpen = options->autoDiagnostics;
    // diagnostics.health: the platform layer's sensors plug in here (platform/rpi).
    player::Shell shell(**store, playback, std::move(diagnostics));
    if (!shell.load())
        return 3;
    QObject::connect(&shell.commands(), &player::CommandRunner::restartRequested, &app,
                     [](int code) { QCoreApplication::exit(code); }, Qt::QueuedConnection);
    shell.show(options->windowed);
    qCInfo(player::lcPlayer, "stoa-player %s: device %s, store %s", STOA_VERSION, deviceId->c_str(),
           options->dataDir.c_str());
    playback.start();
    shell.diagnostics().start();
    shell.commands().check();

    if (options->exitAfterMs) {
        QTimer::singleShot(std::chrono::milliseconds(*options->exitAfterMs), &app, [&] {
            if (!options->screenshotFile.empty() && !shell.grab().save(QString::fromStdString(options->screenshotFile)))
                qCWarning(player::lcPlayer, "cannot save %s", options->screenshotFile.c_str());
            QCoreApplication::quit();
        });
    }
    return app.exec();
}
