// tests/player/fake_display_power.h — a fake of the player's DisplayPower
// interface (player/display_power.h): records what it was asked, can fail,
// and can be held so a test sees a switch in progress.
//
// Threads: DisplayControl calls setPower on its worker thread while the test
// reads on the GUI thread, so every field is behind one mutex and read
// through copies. hold() makes every later setPower wait (as a slow vcgencmd
// does) until release(); the call is recorded before it waits.
#pragma once

#include "player/display_power.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stoa::player::testing {

class FakeDisplayPower final : public DisplayPower {
public:
    QString method() const override { return QStringLiteral("fake"); }
    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        std::unique_lock lock(m_mutex);
        m_calls.push_back(on);
        m_changed.notify_all();
        m_changed.wait(lock, [this] { return !m_held; });
        if (!m_failWith.empty())
            return std::unexpected(m_failWith);
        m_state = on;
        return DisplayPowerReport{on, method(), on ? QStringLiteral("fake on") : QStringLiteral("fake off")};
    }

    // Every setPower argument so far, in order.
    std::vector<bool> calls() const
    {
        std::lock_guard lock(m_mutex);
        return m_calls;
    }
    // The last successfully set state.
    std::optional<bool> state() const
    {
        std::lock_guard lock(m_mutex);
        return m_state;
    }
    // Non-empty: setPower fails with this.
    void failWith(std::string error)
    {
        std::lock_guard lock(m_mutex);
        m_failWith = std::move(error);
    }
    std::string failure() const
    {
        std::lock_guard lock(m_mutex);
        return m_failWith;
    }
    // setPower waits from now until release().
    void hold()
    {
        std::lock_guard lock(m_mutex);
        m_held = true;
    }
    void release()
    {
        std::lock_guard lock(m_mutex);
        m_held = false;
        m_changed.notify_all();
    }

private:
    mutable std::mutex m_mutex;       // guards everything below (worker and test threads)
    std::condition_variable m_changed; // a call recorded, or released
    std::vector<bool> m_calls;
    std::optional<bool> m_state;
    std::string m_failWith;
    bool m_held = false;
};

} // namespace stoa::player::testing
