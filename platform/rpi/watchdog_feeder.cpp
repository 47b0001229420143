// platform/rpi/watchdog_feeder.cpp — see watchdog_feeder.h.
#include "platform/rpi/watchdog_feeder.h"

#include "platform/rpi/logging.h"

#include <algorithm>

namespace stoa::platform {

WatchdogFeeder::WatchdogFeeder(ServiceNotifier &notifier, Probe isLive)
    : m_notifier(notifier), m_isLive(std::move(isLive))
{
}

WatchdogFeeder::~WatchdogFeeder() { stop(); }

bool WatchdogFeeder::start(std::optional<std::chrono::microseconds> interval)
{
    stop();
    const auto chosen = interval ? interval : m_notifier.watchdogInterval();
    if (!chosen || chosen->count() <= 0) {
        qCInfo(lcPlatform, "systemd watchdog is off: not feeding");
        return false;
    }
    // Half the interval: a beat late by up to one period still arrives in time.
    const auto period = std::max(std::chrono::microseconds(1000), *chosen / 2);
    {
        std::lock_guard lock(m_mutex);
        m_stopRequested = false;
    }
    m_thread = std::thread([this, period] { run(period); });
    qCInfo(lcPlatform, "feeding the systemd watchdog every %lld ms while live",
           static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(period).count()));
    return true;
}

void WatchdogFeeder::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopRequested = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

bool WatchdogFeeder::running() const
{
    std::lock_guard lock(m_mutex);
    return m_thread.joinable() && !m_stopRequested;
}

bool WatchdogFeeder::beat()
{
    bool live = false;
    try {
        live = m_isLive && m_isLive();
    } catch (...) {
        live = false;
    }
    if (!live) {
        ++m_skips;
        if (!m_stalled.exchange(true)) {
            qCWarning(lcPlatform, "main loop not live: no longer feeding the systemd watchdog");
            (void)m_notifier.status("main loop not live: watchdog not fed, expecting a restart");
        }
        return false;
    }
    if (m_stalled.exchange(false))
        qCInfo(lcPlatform, "main loop live again: feeding the systemd watchdog");
    const auto sent = m_notifier.watchdog();
    if (!sent) {
        qCWarning(lcPlatform, "%s", sent.error().c_str());
        return false;
    }
    ++m_feeds;
    return true;
}

void WatchdogFeeder::run(std::chrono::microseconds period)
{
    std::unique_lock lock(m_mutex);
    while (!m_stopRequested) {
        lock.unlock();
        beat();
        lock.lock();
        m_wake.wait_for(lock, period, [this] { return m_stopRequested; });
    }
}

} // namespace stoa::platform
