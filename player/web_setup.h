// player/web_setup.h — the process-wide set-up QtWebEngine needs, done
// before QGuiApplication exists (docs/web.md).
//
// Job: in a build with STOA_WEBENGINE, set Chromium's environment (sandbox
// off when running as root, low-memory flags) unless the operator set it,
// then QtWebEngineQuick::initialize(). Without the feature it does nothing.
// Invariant: called once, before the QGuiApplication is constructed (by
// main.cpp and by test mains that show web items); it never overrides an
// environment variable that is already set.
#pragma once

namespace stoa::player {

// True when this build plays web items (STOA_WEBENGINE).
constexpr bool kWebBuiltIn =
#ifdef STOA_WEBENGINE
    true;
#else
    false;
#endif

// The Chromium flags used unless QTWEBENGINE_CHROMIUM_FLAGS is set:
// one renderer process for both slots' pages, and Chromium's low-end
// device mode (smaller caches and tile memory) for 1 GB boards.
inline constexpr const char *kLowMemoryChromiumFlags = "--renderer-process-limit=1 --enable-low-end-device-mode";

// Before QGuiApplication; logs each change it makes to the environment.
void prepareWebEngine();

} // namespace stoa::player
