#include "schedule/identifiers.h"

#include <QTimeZone>

#include <algorithm>

namespace stoa::schedule {

bool isDeviceId(const QString &id)
{
    if (id.isEmpty() || id.size() > 64)
        return false;
    return std::all_of(id.begin(), id.end(), [](QChar c) {
        const char16_t u = c.unicode();
        return (u >= u'a' && u <= u'z') || (u >= u'A' && u <= u'Z') || (u >= u'0' && u <= u'9') || u == u'.' ||
               u == u'_' || u == u'-';
    });
}

bool isIanaTimeZone(const QByteArray &id)
{
    if (id.isEmpty() || ((id.startsWith("UTC+") || id.startsWith("UTC-")) && id.size() > 4))
        return false;
    return QTimeZone::isTimeZoneIdAvailable(id) || QTimeZone(id).isValid();
}

} // namespace stoa::schedule
