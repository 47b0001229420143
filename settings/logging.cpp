#include "settings/logging.h"

namespace stoa::settings {
Q_LOGGING_CATEGORY(lcSettings, "stoa.settings")
}
