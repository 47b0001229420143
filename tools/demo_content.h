// tools/demo_content.h — what the build-time demo generator and the run-time demo share.
//
// Job: the demo's content is made at build time by `stoa-demo-content`
// (tools/demo_content.cpp: slides, a video and a schedule source, checked
// by publishing them once) and embedded in `stoa` and `stoa-player` as Qt
// resources under kDemoResourceDir; `stoa demo` and `stoa-player --demo`
// (tools/demo.cpp) fill in what only the running machine knows and sign it
// with a throw-away key. The schedule source is a template: these
// placeholders are replaced, nothing else.
// Invariants:
//  - the template with every placeholder filled is a valid schedule source
//    (the generator publishes it at build time; a failure fails the build);
//  - the placeholders appear only where a value goes, never in media names.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QString>

namespace stoa::tools {

// Where the content lives in the executables (qt_add_resources in tools/stoa.cmake).
inline constexpr char kDemoResourceDir[] = ":/stoa/demo";

// The layout's geometry, in fractions of the screen (the schedule template
// and the pixel test, tests/player/tst_demo.cpp, read these).
struct DemoRect {
    double x, y, w, h;
};
inline constexpr DemoRect kDemoSlidesRegion{0.0, 0.0, 0.625, 0.875};
inline constexpr DemoRect kDemoVideoRegion{0.625, 0.0, 0.375, 0.5};
inline constexpr DemoRect kDemoClockRegion{0.625, 0.5, 0.375, 0.375};
inline constexpr DemoRect kDemoTickerRegion{0.0, 0.875, 1.0, 0.125};

// The time zone of the screen (an IANA name).
inline constexpr char kDemoZonePlaceholder[] = "@TIMEZONE@";
// The clock playlist's sync epoch: the last local midnight, RFC 3339 UTC.
inline constexpr char kDemoClockEpochPlaceholder[] = "@CLOCK_EPOCH@";
// The signing key's id, said by the ticker (its first 16 hex digits: enough
// to tell keys apart, short enough to read as it passes).
inline constexpr char kDemoKeyIdPlaceholder[] = "@KEY_ID@";

// The template with its placeholders filled.
inline QByteArray fillDemoSchedule(QByteArray schedule, const QByteArray &zone, const QDateTime &clockEpochUtc,
                                   const QByteArray &keyId)
{
    schedule.replace(kDemoZonePlaceholder, zone);
    schedule.replace(kDemoClockEpochPlaceholder, clockEpochUtc.toUTC().toString(Qt::ISODate).toUtf8());
    schedule.replace(kDemoKeyIdPlaceholder, keyId.left(16));
    return schedule;
}

} // namespace stoa::tools
