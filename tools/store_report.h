// tools/store_report.h — `stoa status`: what a device's store holds, in words.
//
// Job: read a data directory the way the player and the agent see it (the
// active and staged manifests, what plays now, space, the agent's last
// status, the play log, commands waiting for the player) and describe it
// for an operator on site or on the phone.
#pragma once

#include "cache/store.h"

#include <QDateTime>
#include <QString>

namespace stoa::tools {

QString describeStore(cache::Store &store, const QDateTime &nowUtc);

} // namespace stoa::tools
