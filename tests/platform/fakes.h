// tests/platform/fakes.h — fakes of the platform interfaces, for tests of
// this layer and of its users (player, agent).
//
// Each subclasses the real interface and records what it was asked, so a
// test asserts on behaviour. Thread-safe where the real one is used across
// threads (ServiceNotifier: the watchdog feeder's thread).
#pragma once

#include "platform/rpi/health.h"
#include "platform/rpi/service_notifier.h"
#include "platform/rpi/time_sync.h"

#include <mutex>
#include <string>
#include <vector>

namespace stoa::platform::testing {

class FakeServiceNotifier final : public ServiceNotifier {
public:
    explicit FakeServiceNotifier(std::optional<std::chrono::microseconds> interval = std::nullopt)
        : m_interval(interval)
    {
    }

    std::expected<bool, std::string> ready() override { return record("READY=1"); }
    std::expected<bool, std::string> watchdog() override { return record("WATCHDOG=1"); }
    std::expected<bool, std::string> status(const std::string &text) override { return record(statusAssignment(text)); }
    std::expected<bool, std::string> stopping() override { return record("STOPPING=1"); }
    std::optional<std::chrono::microseconds> watchdogInterval() override { return m_interval; }

    std::vector<std::string> messages() const
    {
        std::lock_guard lock(m_mutex);
        return m_messages;
    }
    int count(const std::string &message) const
    {
        std::lock_guard lock(m_mutex);
        int n = 0;
        for (const auto &m : m_messages)
            n += m == message;
        return n;
    }
    int countPrefix(const std::string &prefix) const
    {
        std::lock_guard lock(m_mutex);
        int n = 0;
        for (const auto &m : m_messages)
            n += m.starts_with(prefix);
        return n;
    }

private:
    std::expected<bool, std::string> record(std::string message)
    {
        std::lock_guard lock(m_mutex);
        m_messages.push_back(std::move(message));
        return true;
    }

    std::optional<std::chrono::microseconds> m_interval;
    mutable std::mutex m_mutex;
    std::vector<std::string> m_messages;
};

class FakeHealthSource final : public HealthSource {
public:
    stoa::schedule::DeviceHealth read() override
    {
        ++reads;
        return reading;
    }
    stoa::schedule::DeviceHealth reading; // what read() returns
    int reads = 0;
};

class FakeTimeSync final : public TimeSyncSource {
public:
    std::expected<TimeSyncState, std::string> state() override
    {
        if (!error.empty())
            return std::unexpected(error);
        TimeSyncState s;
        s.synchronized = synced;
        return s;
    }
    bool synced = false;
    std::string error; // non-empty: state() fails with this
};

} // namespace stoa::platform::testing
