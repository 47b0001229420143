#include "player/logging.h"

namespace stoa::player {
Q_LOGGING_CATEGORY(lcPlayer, "stoa.player")
}
