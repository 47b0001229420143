// tests/player/fake_display_power.h — a fake of the player's DisplayPower
// interface (player/display_power.h): records what it was asked, can fail.
#pragma once

#include "player/display_power.h"

#include <optional>
#include <string>
#include <vector>

namespace stoa::player::testing {

class FakeDisplayPower final : public DisplayPower {
public:
    QString method() const override { return QStringLiteral("fake"); }
    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        calls.push_back(on);
        if (!failWith.empty())
            return std::unexpected(failWith);
        state = on;
        return DisplayPowerReport{on, method(), on ? QStringLiteral("fake on") : QStringLiteral("fake off")};
    }

    std::vector<bool> calls;    // every setPower argument, in order
    std::optional<bool> state;  // last successfully set state
    std::string failWith;       // non-empty: setPower fails with this
};

} // namespace stoa::player::testing
