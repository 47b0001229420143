#include "schedule/identifiers.h"

#include <QTimeZone>
#include <QUrl>

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

bool isProtocolName(std::string_view name, std::size_t maxLength)
{
    if (name.empty() || name.size() > maxLength)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
}

bool isDeviceId(std::string_view id) { return isProtocolName(id, 64); }

bool isIanaTimeZone(const QByteArray &id)
{
    if (id.isEmpty() || ((id.startsWith("UTC+") || id.startsWith("UTC-")) && id.size() > 4))
        return false;
    return QTimeZone::isTimeZoneIdAvailable(id) || QTimeZone(id).isValid();
}

bool isWebPageUrl(const QString &url)
{
    const QUrl parsed(url, QUrl::StrictMode);
    const QString scheme = parsed.scheme();
    return parsed.isValid() && !parsed.host().isEmpty() &&
           (scheme == QLatin1String("http") || scheme == QLatin1String("https"));
}

bool isStreamUrl(const QString &url)
{
    const QUrl parsed(url, QUrl::StrictMode);
    if (!parsed.isValid() || parsed.host().isEmpty())
        return false;
    const QString scheme = parsed.scheme();
    if (scheme == QLatin1String("rtsp") || scheme == QLatin1String("rtsps"))
        return true;
    return (scheme == QLatin1String("http") || scheme == QLatin1String("https")) &&
           parsed.path().endsWith(QLatin1String(".m3u8"), Qt::CaseInsensitive);
}

} // namespace stoa::schedule
