// hub/content_api.h — the operator routes the console's content pages read
// (docs/hub-api.md, "Content"), one file per concern behind contentReport()
// (hub_impl.h), which content_api.cpp dispatches: schedule_week.cpp (a week
// of what a target plays, from the devices' own engine),
// schedule_preview.cpp (what a schedule change would do; a stored schedule
// as JSON), content_reports.cpp (the proof-of-play report, the audit log);
// content_api.cpp itself answers a medium's bytes and thumbnail and the
// publication's version. And the small helpers they share.
// Invariants: nothing here changes content (the changes are
// publish_api.cpp's, on the worker); media digests come from the library's
// store (media_digests.h), so no route reads a medium's bytes (multi-GB
// videos) on an HTTP thread; text from devices and operators goes into JSON
// or CSV as data. Internal to those files.
#pragma once

#include "hub/hub_impl.h"
#include "publish/error.h"
#include "schedule/manifest.h"

#include <QJsonValue>
#include <QString>

#include <optional>
#include <set>
#include <string>

namespace stoa::hub::content {

// The query parameter `name`; empty when absent.
std::string param(const HttpRequest &request, const char *name);
const char *weekdayName(schedule::Weekday d);
HttpResponse invalidSchedule(const publish::Error &e);
// The schedule a target plays: its own, else (a device) its group's, else
// the fleet's. `schedules`: the targets that have one.
std::optional<std::string> effectiveTarget(const std::string &device, const std::optional<std::string> &group,
                                           const std::set<std::string> &schedules);

// schedule_week.cpp: GET /api/v1/schedules/TARGET/week.
HttpResponse scheduleWeek(Hub::Impl &impl, const HttpRequest &request, const Route &route);
// schedule_preview.cpp: POST /api/v1/schedules/TARGET/preview.
HttpResponse schedulePreview(Hub::Impl &impl, const HttpRequest &request, const Route &route, const Principal &who);
// content_reports.cpp: GET /api/v1/reports/plays (JSON or CSV) and /api/v1/audit.
HttpResponse playsReport(Hub::Impl &impl, const HttpRequest &request);
HttpResponse auditLog(Hub::Impl &impl, const HttpRequest &request);

} // namespace stoa::hub::content
