#include "endpoints/logging.h"

namespace stoa::endpoints {
Q_LOGGING_CATEGORY(lcEndpoints, "stoa.endpoints")
}
