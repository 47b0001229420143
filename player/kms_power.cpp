// player/kms_power.cpp — see kms_power.h.
#include "player/kms_power.h"

#include <QPointer>
#include <QScreen>
#include <QThread>
#include <qpa/qplatformscreen.h>

#include <future>
#include <memory>

namespace stoa::player {

namespace {

// How long the worker waits for the screen's thread to do the switch. The
// switch itself is one DPMS property change (milliseconds); a GUI thread
// that does not get to it in this time is shutting down or stuck.
constexpr std::chrono::milliseconds kHopTimeout{2000};

using SwitchResult = std::expected<void, std::string>;

SwitchResult switchNow(const QPointer<QScreen> &screen, bool on)
{
    if (!screen || !screen->handle())
        return std::unexpected(std::string("no screen to switch"));
    screen->handle()->setPowerState(on ? QPlatformScreen::PowerStateOn : QPlatformScreen::PowerStateOff);
    return {};
}

} // namespace

DrmPowerSwitch kmsPowerSwitch(QScreen *screen)
{
    return [guarded = QPointer<QScreen>(screen)](bool on) -> SwitchResult {
        QScreen *target = guarded.data();
        if (!target)
            return std::unexpected(std::string("no screen to switch"));
        if (QThread::currentThread() == target->thread())
            return switchNow(guarded, on);
        // DisplayControl calls from its worker thread (display_power.h):
        // the platform screen is only touched on its own thread. The promise
        // is shared, so a call that runs after this wait gave up is harmless.
        auto done = std::make_shared<std::promise<SwitchResult>>();
        std::future<SwitchResult> result = done->get_future();
        const bool posted = QMetaObject::invokeMethod(
            target, [guarded, on, done] { done->set_value(switchNow(guarded, on)); }, Qt::QueuedConnection);
        if (!posted)
            return std::unexpected(std::string("cannot reach the screen's thread"));
        if (result.wait_for(kHopTimeout) != std::future_status::ready)
            return std::unexpected("the screen's thread did not switch within " +
                                   std::to_string(kHopTimeout.count()) + " ms");
        return result.get();
    };
}

} // namespace stoa::player
