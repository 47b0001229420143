// tools/demo.h — `stoa demo`: the whole chain on one machine, no network.
//
// Job: make a demo key and three generated images, publish them as a signed
// site (protocol §1), let the real sync agent adopt the site from a file://
// base into a fresh store, and report the store. Until the player exists
// this is README command (1): it exercises cache/, schedule/, sync/ and the
// publishing tools end to end.
#pragma once

#include "publish/error.h"

#include <QString>

#include <expected>

namespace stoa::tools {

// Everything goes under `dir` (keys/, source/, site/, store/). Returns the
// report to print.
std::expected<QString, publish::Error> runDemo(const QString &dir);

} // namespace stoa::tools
