// cache/logging.h — the cache module's logging category ("stoa.cache").
#pragma once

#include <QLoggingCategory>

namespace stoa::cache {
Q_DECLARE_LOGGING_CATEGORY(lcCache)
}
