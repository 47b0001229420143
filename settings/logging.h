// settings/logging.h — the settings module's logging category ("stoa.settings").
#pragma once

#include <QLoggingCategory>

namespace stoa::settings {
Q_DECLARE_LOGGING_CATEGORY(lcSettings)
}
