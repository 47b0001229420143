#include "sync/logging.h"

namespace stoa::sync {
Q_LOGGING_CATEGORY(lcSync, "stoa.sync")
}
