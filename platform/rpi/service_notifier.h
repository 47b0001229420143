// platform/rpi/service_notifier.h — telling the service manager how we are.
//
// ServiceNotifier is what a long-running process (player, agent) tells
// systemd: ready after start-up, a watchdog keep-alive, a one-line status,
// stopping at shutdown. SystemdNotifier sends these with sd_notify(3) to
// $NOTIFY_SOCKET; tests bind their own datagram socket there and read them.
//
// Invariants:
//  - not running under systemd (no NOTIFY_SOCKET) is not an error: every
//    call returns false ("nobody to tell") and the process runs on;
//  - a status text is one line: newlines become spaces, so a status can
//    never smuggle in another assignment such as "WATCHDOG=1";
//  - the environment is left as it is (unset_environment = 0), so child
//    processes do not matter here and repeated calls keep working;
//  - thread-safe: sd_notify opens a fresh socket per call, so the watchdog
//    feeder's thread and the main thread may both notify.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>

namespace stoa::platform {

class ServiceNotifier {
public:
    virtual ~ServiceNotifier() = default;

    // Each: true when the message was sent, false when there is no service
    // manager to tell, an error when sending failed.
    virtual std::expected<bool, std::string> ready() = 0;    // READY=1
    virtual std::expected<bool, std::string> watchdog() = 0; // WATCHDOG=1
    virtual std::expected<bool, std::string> status(const std::string &text) = 0; // STATUS=<text>
    virtual std::expected<bool, std::string> stopping() = 0; // STOPPING=1

    // The unit's WatchdogSec= for this process (WATCHDOG_USEC, checked
    // against WATCHDOG_PID), nullopt when the watchdog is off.
    virtual std::optional<std::chrono::microseconds> watchdogInterval() = 0;
};

class SystemdNotifier final : public ServiceNotifier {
public:
    std::expected<bool, std::string> ready() override;
    std::expected<bool, std::string> watchdog() override;
    std::expected<bool, std::string> status(const std::string &text) override;
    std::expected<bool, std::string> stopping() override;
    std::optional<std::chrono::microseconds> watchdogInterval() override;
};

// "STATUS=" + text on one line (see the invariants); exposed for tests.
std::string statusAssignment(const std::string &text);

} // namespace stoa::platform
