#include "hub/logging.h"

namespace stoa::hub {
Q_LOGGING_CATEGORY(lcHub, "stoa.hub")
}
