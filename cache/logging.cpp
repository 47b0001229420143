#include "cache/logging.h"

namespace stoa::cache {
Q_LOGGING_CATEGORY(lcCache, "stoa.cache")
}
