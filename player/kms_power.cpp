// player/kms_power.cpp — see kms_power.h.
#include "player/kms_power.h"

#include <QScreen>
#include <qpa/qplatformscreen.h>

namespace stoa::player {

DrmPowerSwitch kmsPowerSwitch(QScreen *screen)
{
    return [screen](bool on) -> std::expected<void, std::string> {
        if (!screen || !screen->handle())
            return std::unexpected(std::string("no screen to switch"));
        screen->handle()->setPowerState(on ? QPlatformScreen::PowerStateOn : QPlatformScreen::PowerStateOff);
        return {};
    };
}

} // namespace stoa::player
