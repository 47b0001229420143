// platform/rpi/service_notifier.cpp — see service_notifier.h.
#include "platform/rpi/service_notifier.h"

#include "platform/rpi/logging.h"

#include <systemd/sd-daemon.h>

#include <system_error>

namespace stoa::platform {

namespace {

std::expected<bool, std::string> send(const std::string &state)
{
    const int r = ::sd_notify(0, state.c_str());
    if (r < 0)
        return std::unexpected("sd_notify(" + state.substr(0, state.find('=')) + ") failed: " + std::error_code(-r, std::generic_category()).message());
    return r > 0;
}

} // namespace

std::string statusAssignment(const std::string &text)
{
    std::string line = "STATUS=" + text;
    for (char &c : line)
        if (c == '\n' || c == '\r' || c == '\0')
            c = ' ';
    return line;
}

std::expected<bool, std::string> SystemdNotifier::ready() { return send("READY=1"); }
std::expected<bool, std::string> SystemdNotifier::watchdog() { return send("WATCHDOG=1"); }
std::expected<bool, std::string> SystemdNotifier::status(const std::string &text) { return send(statusAssignment(text)); }
std::expected<bool, std::string> SystemdNotifier::stopping() { return send("STOPPING=1"); }

std::optional<std::chrono::microseconds> SystemdNotifier::watchdogInterval()
{
    uint64_t usec = 0;
    const int r = ::sd_watchdog_enabled(0, &usec);
    if (r < 0) {
        qCWarning(lcPlatform, "WATCHDOG_USEC/WATCHDOG_PID are malformed: %s",
                  std::error_code(-r, std::generic_category()).message().c_str());
        return std::nullopt;
    }
    if (r == 0 || usec == 0)
        return std::nullopt;
    return std::chrono::microseconds(usec);
}

} // namespace stoa::platform
