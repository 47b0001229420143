// schedule/identifiers.h — the protocol's names, checked in one place.
//
// Device ids (§1: 1-64 characters of [A-Za-z0-9._-]), time-zone names
// (§3: an IANA name this device's tz database knows) and the URLs items may
// name (§3 web pages, v1.1 §14 live streams). The manifest parser and the
// publisher's schedule source ask the same functions, so a source the
// publisher accepts is never refused by devices.
#pragma once

#include <QByteArray>
#include <QString>

#include <cstddef>
#include <string_view>

namespace stoa::schedule {

bool isDeviceId(const QString &id);
bool isDeviceId(std::string_view id);
// 1 to `maxLength` characters of [A-Za-z0-9._-]: a device id's alphabet,
// for other names that share it (the hub's groups, tags and media names).
bool isProtocolName(std::string_view name, std::size_t maxLength);
// True for any IANA zone the system's tz database has, "Etc/UTC" and the
// backward-compatible links included (QTimeZone::isTimeZoneIdAvailable()
// only lists zone.tab's canonical zones); false for Qt's own "UTC+01:00"
// offset names, which are not IANA names.
bool isIanaTimeZone(const QByteArray &id);
// §3 `url`: an absolute http or https URL with a host.
bool isWebPageUrl(const QString &url);
// v1.1 §14 `stream`: rtsp:// or rtsps:// with a host (RTSP), or an http(s)
// URL whose path ends in ".m3u8" (HLS; a query string may follow).
bool isStreamUrl(const QString &url);

} // namespace stoa::schedule
