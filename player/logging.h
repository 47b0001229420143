// player/logging.h — the player's one logging category ("stoa.player").
#pragma once

#include <QLoggingCategory>

namespace stoa::player {
Q_DECLARE_LOGGING_CATEGORY(lcPlayer)
}
