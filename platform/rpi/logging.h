// platform/rpi/logging.h — the platform layer's logging category ("stoa.platform").
#pragma once

#include <QLoggingCategory>

namespace stoa::platform {
Q_DECLARE_LOGGING_CATEGORY(lcPlatform)
}
