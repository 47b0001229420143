// stoa-hub — the fleet hub (hub/cli.h). Thin: logging, Qt, the service
// manager (systemd, from the platform edge), then the CLI.
#include "endpoints/log_format.h"
#include "hub/cli.h"
#include "platform/rpi/service_notifier.h"
#include "platform/rpi/watchdog_feeder.h"

#include <QCoreApplication>

#include <memory>

int main(int argc, char **argv)
{
    stoa::endpoints::installLogFormat();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("stoa-hub");
    QCoreApplication::setApplicationVersion(STOA_VERSION);

    // systemd (Type=notify, WatchdogSec=): ready once serving, and the
    // watchdog fed only while the hub answers HTTP. Nothing without
    // $NOTIFY_SOCKET.
    stoa::platform::SystemdNotifier notifier;
    std::unique_ptr<stoa::platform::WatchdogFeeder> feeder;
    stoa::hub::ServeHooks hooks;
    hooks.serving = [&](const std::string &selfUrl, const std::string &shown) {
        feeder = std::make_unique<stoa::platform::WatchdogFeeder>(
            notifier, [selfUrl] { return stoa::hub::answersHttp(selfUrl); });
        feeder->start();
        (void)notifier.ready();
        (void)notifier.status("serving " + shown);
    };
    hooks.stopping = [&] {
        (void)notifier.stopping();
        if (feeder)
            feeder->stop();
    };
    return stoa::hub::runCli(std::vector<std::string>(argv + 1, argv + argc), hooks);
}
