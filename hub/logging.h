// hub/logging.h — the hub's logging category ("stoa.hub").
#pragma once

#include <QLoggingCategory>

namespace stoa::hub {
Q_DECLARE_LOGGING_CATEGORY(lcHub)
}
