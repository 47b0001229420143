// player/demo_store.h — `stoa-player --demo`: the bundled demo in a temporary store.
//
// Reuses `stoa demo` (tools/demo.h): the content made at build time (a
// layout of slides, a looping video, a clock and a ticker; tools/
// demo_content.h) signed as a site with a throw-away key, adopted by the
// real sync agent from file:// into a fresh store. No network, no running
// agent; the directory is removed when the DemoStore goes away.
#pragma once

#include <QTemporaryDir>

#include <expected>
#include <memory>
#include <string>

namespace stoa::player {

struct DemoStore {
    std::unique_ptr<QTemporaryDir> dir; // owns everything below
    std::string dataDir;                // the store to play
    std::string deviceId = "demo-screen";
};

std::expected<DemoStore, std::string> makeDemoStore();

} // namespace stoa::player
