// endpoints/logging.h — the endpoints module's logging category ("stoa.endpoints").
#pragma once

#include <QLoggingCategory>

namespace stoa::endpoints {
Q_DECLARE_LOGGING_CATEGORY(lcEndpoints)
}
