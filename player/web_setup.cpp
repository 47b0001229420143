// player/web_setup.cpp — QtWebEngine's process set-up (see web_setup.h).
#include "player/web_setup.h"

#include "player/logging.h"

#ifdef STOA_WEBENGINE
#include <QtWebEngineQuick/qtwebenginequickglobal.h>
#endif

#include <cstdlib>
#include <unistd.h>

namespace stoa::player {

void prepareWebEngine()
{
#ifdef STOA_WEBENGINE
    // Chromium refuses to start its zygote as root with the sandbox on
    // (CI and some kiosk images run as root); the .deb runs as `stoa`,
    // where the sandbox stays on.
    if (::geteuid() == 0 && !std::getenv("QTWEBENGINE_DISABLE_SANDBOX")) {
        ::setenv("QTWEBENGINE_DISABLE_SANDBOX", "1", 0);
        qCInfo(lcPlayer, "web: running as root: Chromium's sandbox is off (QTWEBENGINE_DISABLE_SANDBOX=1)");
    }
    if (!std::getenv("QTWEBENGINE_CHROMIUM_FLAGS")) {
        ::setenv("QTWEBENGINE_CHROMIUM_FLAGS", kLowMemoryChromiumFlags, 0);
        qCInfo(lcPlayer, "web: Chromium flags %s", kLowMemoryChromiumFlags);
    } else {
        qCInfo(lcPlayer, "web: Chromium flags from QTWEBENGINE_CHROMIUM_FLAGS: %s",
               std::getenv("QTWEBENGINE_CHROMIUM_FLAGS"));
    }
    QtWebEngineQuick::initialize();
#endif
}

} // namespace stoa::player
