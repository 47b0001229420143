#include "platform/rpi/logging.h"

namespace stoa::platform {
Q_LOGGING_CATEGORY(lcPlatform, "stoa.platform")
}
