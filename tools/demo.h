// tools/demo.h — `stoa demo`: the whole chain on one machine, no network.
//
// Job: take the demo content made at build time (tools/demo_content.h: four
// slides, a looping video, a schedule with one layout: slides, video, a
// clock and a ticker), sign it with a throw-away key as a static site
// (protocol §1), let the real sync agent adopt the site from a file:// base
// into a fresh store, and report the store. `stoa-player --demo`
// (player/demo_store.h) plays that store.
#pragma once

#include "publish/error.h"

#include <QString>

#include <expected>

namespace stoa::tools {

// Everything goes under `dir` (keys/, source/, site/, store/). Returns the
// report to print.
std::expected<QString, publish::Error> runDemo(const QString &dir);

} // namespace stoa::tools
