// sync/logging.h — the sync module's logging category ("stoa.sync").
#pragma once

#include <QLoggingCategory>

namespace stoa::sync {
Q_DECLARE_LOGGING_CATEGORY(lcSync)
}
