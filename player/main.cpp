// stoa-player — thin main: options, store, wiring. The logic is in stoa_player;
// the platform layer (identity, sensors, systemd) and the local endpoints
// are plugged in here, at the edge.
//
// The store opens with WhenBusy::Fallback (cache/store.h): while the agent
// recovers (maybe rebuilds a big state.db) under store.lock, the player plays
// from the mirror at once instead of waiting; StoreAttacher retries the real
// open on a thread of its own every half second and adopts it on the GUI
// thread, so no retry ever blocks a frame.
#include "cache/store.h"
#include "endpoints/log_format.h"
#include "platform/rpi/tool_runner.h"
#include "platform/rpi/device_identity.h"
#include "platform/rpi/health.h"
#include "platform/rpi/service_notifier.h"
#include "platform/rpi/time_sync.h"
#include "platform/rpi/watchdog_feeder.h"
#include "platform/rpi/display_power.h"
#include "player/demo_store.h"
#include "player/display_control.h"
#include "player/kms_power.h"
#include "player/clocks.h"
#include "player/frame_log.h"
#include "player/local_endpoints.h"
#include "player/logging.h"
#include "player/options.h"
#include "player/playback.h"
#include "player/shell.h"
#include "player/web_setup.h"

#include <QGuiApplication>
#include <QSocketNotifier>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <sys/signalfd.h>
#include <unistd.h>

using namespace stoa;

namespace {

// The Pi's sensors for the diagnostics screen and /status. sysfs only (no
// vcgencmd: the GUI thread must not wait on a tool; the agent reports the
// vcgencmd fallback).
player::HealthProvider piHealth(const std::string &dataDir)
{
    auto runner = std::make_shared<platform::ProcessRunner>();
    platform::PiHealthOptions o;
    o.dataDir = QString::fromStdString(dataDir);
    auto source = std::make_shared<platform::PiHealthSource>(o, *runner);
    return [runner, source] { return source->read(); };
}

// Opens the real store off the GUI thread while `store` is a fallback and
// hands it to Store::adopt() on the GUI thread; stops once adopted.
class StoreAttacher : public QObject {
public:
    StoreAttacher(cache::Store &store, cache::StoreOptions options) : m_store(store), m_options(std::move(options))
    {
        m_options.whenBusy = cache::WhenBusy::Fail; // a retry never waits on the lock
        m_timer.setInterval(500);
        connect(&m_timer, &QTimer::timeout, this, &StoreAttacher::attempt);
        m_timer.start();
        attempt();
    }
    ~StoreAttacher() override
    {
        if (m_worker.joinable())
            m_worker.join(); // its result is dropped: no queued call reaches a deleted object
    }

private:
    void attempt()
    {
        if (m_busy || !m_store.isFallback())
            return;
        if (m_worker.joinable())
            m_worker.join(); // finished: it posted its result before we got here
        m_busy = true;
        m_worker = std::thread([this] {
            auto real = std::make_shared<cache::Result<std::unique_ptr<cache::Store>>>(cache::Store::open(m_options));
            QMetaObject::invokeMethod(this, [this, real] { attached(std::move(*real)); }, Qt::QueuedConnection);
        });
    }

    void attached(cache::Result<std::unique_ptr<cache::Store>> real)
    {
        m_busy = false;
        if (!real) {
            if (real.error().code != cache::ErrorCode::Busy)
                qCWarning(player::lcPlayer, "store: %s; still playing from the mirror", real.error().message.c_str());
            return;
        }
        m_timer.stop();
        if (auto ok = m_store.adopt(std::move(**real)); !ok)
            qCCritical(player::lcPlayer, "store: attaching after the fallback: %s", ok.error().message.c_str());
        else
            qCInfo(player::lcPlayer, "store %s attached: the agent's recovery is done", m_options.dataDir.c_str());
    }

    cache::Store &m_store;
    cache::StoreOptions m_options;
    QTimer m_timer;
    std::thread m_worker;
    bool m_busy = false; // an open is running on m_worker
};

} // namespace

int main(int argc, char **argv)
{
    // SIGTERM (systemd stopping us) and SIGINT end the event loop normally —
    // the current play is recorded, the watchdog told, and `playback` going
    // out of scope drains its store writer for up to 5 s
    // (player/store_writer.h) — instead of killing the process. Blocked before any thread starts, so all inherit it, and
    // read from a signalfd in the event loop.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    const int stopFd = signalfd(-1, &stopSignals, SFD_CLOEXEC | SFD_NONBLOCK);

    endpoints::installLogFormat();
    // Before QGuiApplication: these must work on a device with no display.
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::fputs(player::playerUsage(), stdout);
            return 0;
        }
        if (!std::strcmp(argv[i], "--version")) {
            std::printf("stoa-player %s\n", STOA_VERSION);
            return 0;
        }
    }
    player::prepareWebEngine(); // web items: before QGuiApplication (a no-op without STOA_WEBENGINE)
    QGuiApplication app(argc, argv); // takes Qt's own options (-platform ...) out of argv
    QGuiApplication::setApplicationName("stoa-player");
    QGuiApplication::setApplicationVersion(STOA_VERSION);
    QSocketNotifier stopNotifier(stopFd, QSocketNotifier::Read);
    QObject::connect(&stopNotifier, &QSocketNotifier::activated, &app, [stopFd] {
        signalfd_siginfo info{};
        if (::read(stopFd, &info, sizeof info) == sizeof info)
            qCInfo(player::lcPlayer, "signal %u: stopping", info.ssi_signo);
        QCoreApplication::quit();
    });

    auto options = player::parsePlayerOptions(app.arguments());
    if (!options) {
        std::fprintf(stderr, "stoa-player: %s\n", options.error().message.c_str());
        return 2;
    }
    std::vector<std::string> problems;
    if (!options->configError.empty()) {
        qCCritical(player::lcPlayer, "configuration: %s (the rest of the file is used; the diagnostics screen shows this)",
                   options->configError.c_str());
        problems.push_back(options->configError);
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
    auto identity = platform::resolveDeviceId(options->deviceId);
    if (!identity && !options->deviceId.empty()) {
        // A bad override in the file: show it, and be this device meanwhile.
        problems.push_back(identity.error());
        identity = platform::resolveDeviceId({});
    }
    if (!identity) {
        std::fprintf(stderr, "stoa-player: %s\n", identity.error().c_str());
        return 2;
    }

    cache::StoreOptions storeOptions;
    storeOptions.dataDir = options->dataDir;
    storeOptions.whenBusy = cache::WhenBusy::Fallback;
    auto store = cache::Store::open(storeOptions);
    if (!store) {
        std::fprintf(stderr, "stoa-player: store %s: %s\n", options->dataDir.c_str(), store.error().message.c_str());
        return 3;
    }

    player::PlaybackConfig config;
    config.deviceId = identity->id;
    config.rotation = options->rotation;
    config.fadeMs = options->fadeMs;
    if (options->videoEngine == settings::VideoEngine::RetiredQt)
        qCWarning(player::lcPlayer, "video_engine = qt: Qt's MediaPlayer engine was removed; videos play with "
                                    "the pipeline engine (set video_engine = pipeline or drop the line)");
    config.web = options->web && player::kWebBuiltIn;
    if (options->web && !player::kWebBuiltIn)
        qCInfo(player::lcPlayer, "web items: not built in (STOA_WEBENGINE=OFF); they are skipped");
    platform::AdjtimexTimeSync timeSync; // spec §7: NTP state from the kernel
    player::Playback playback(**store,
                              player::playerClocks(options->fakeNow, [&timeSync] { return timeSync.synchronized(); }),
                              config);
    platform::ProcessRunner displayRunner;
    std::unique_ptr<player::DisplayPower> displayPower;
    std::optional<player::DisplayControl> display; // set up below, once the window exists
    player::DiagnosticsConfig diagnostics;
    diagnostics.display = [&display]() -> std::string {
        if (!display)
            return {};
        if (const auto &error = display->lastError())
            return "failed: " + *error;
        if (!display->isOn())
            return "unknown";
        std::string text = *display->isOn() ? "on" : "off";
        if (display->manualOverride())
            text += " (by command, until the window's next change)";
        if (const auto &report = display->lastReport())
            text += " - " + report->method.toStdString() + ": " + report->detail.toStdString();
        return text;
    };
    diagnostics.configuredServer = options->server;
    diagnostics.quotaBytes = options->quotaBytes;
    diagnostics.consoleUrl = options->consoleUrl;
    diagnostics.openAtStart = options->diagnostics;
    diagnostics.autoOpen = options->autoDiagnostics;
    diagnostics.health = piHealth(options->dataDir);
    diagnostics.startupProblems = problems;
    player::Shell shell(**store, playback, std::move(diagnostics));
    if (!shell.load())
        return 3;
    QObject::connect(&shell.commands(), &player::CommandRunner::restartRequested, &app,
                     [](int code) { QCoreApplication::exit(code); }, Qt::QueuedConnection);
    shell.show(options->windowed);
    // --frame-log: every frame swap and switch, written at exit (bench/frames_bench.cpp).
    std::unique_ptr<player::FrameLog> frameLog;
    if (!options->frameLogFile.empty()) {
        frameLog = std::make_unique<player::FrameLog>(QString::fromStdString(options->frameLogFile));
        frameLog->attach(shell.window(), playback);
        QObject::connect(&app, &QCoreApplication::aboutToQuit, frameLog.get(), [&frameLog] {
            if (auto written = frameLog->write(); !written)
                qCWarning(player::lcPlayer, "frame log: %s", written.error().c_str());
        });
    }
    qCInfo(player::lcPlayer, "stoa-player %s: device %s (%s), store %s", STOA_VERSION, identity->id.c_str(),
           qPrintable(platform::deviceIdSourceName(identity->source)), options->dataDir.c_str());
    playback.start();
    shell.diagnostics().start();
    std::unique_ptr<StoreAttacher> attacher;
    if ((*store)->isFallback())
        attacher = std::make_unique<StoreAttacher>(**store, storeOptions);

    // Display power: the manifest's window and display_on/off commands, by
    // the configured method; "none" leaves the commands "not configured".
    if (options->displayPower != settings::DisplayPower::None) {
        platform::DisplayPowerOptions dpo;
        dpo.drmSwitch = player::kmsPowerSwitch(shell.window() ? shell.window()->screen() : nullptr);
        displayPower = platform::makeDisplayPower(options->displayPower, dpo, displayRunner);
        display.emplace(playback, *displayPower);
        shell.commands().setDisplaySwitch([&display](bool on, player::CommandRunner::DisplayDone done) {
            display->command(on, std::move(done)); // off the GUI thread; `done` gets the outcome
        });
        display->start();
    }
    // Commands handed over while the player was down, once the display switch
    // is plugged in (before, a pending display_on/off failed as not configured).
    shell.commands().check();

    // Endpoints: a bind failure is logged; playback never depends on them.
    player::LocalEndpoints local(playback, shell.window(), [&shell] { return shell.diagnostics().gather(); });
    if (auto started = local.start(options->listen); !started)
        qCWarning(player::lcPlayer, "local endpoints on %s not available: %s", options->listen.c_str(),
                  started.error().c_str());

    // systemd: ready once the window is up; the watchdog is fed only while
    // frames or playback ticks happen (the same rule as /healthz).
    platform::SystemdNotifier notifier;
    platform::WatchdogFeeder feeder(notifier, [&local] { return local.liveness().isLive(); });
    (void)notifier.ready();
    (void)notifier.status("playing from " + options->dataDir);
    feeder.start();
    QObject::connect(&app, &QCoreApplication::aboutToQuit, [&] {
        (void)notifier.stopping();
        feeder.stop();
    });

    if (options->exitAfterMs) {
        QTimer::singleShot(std::chrono::milliseconds(*options->exitAfterMs), &app, [&] {
            if (!options->screenshotFile.empty() && !shell.grab().save(QString::fromStdString(options->screenshotFile)))
                qCWarning(player::lcPlayer, "cannot save %s", options->screenshotFile.c_str());
            QCoreApplication::quit();
        });
    }
    return app.exec();
}
