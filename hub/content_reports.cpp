// hub/content_reports.cpp — the operator's reports: proof of play over whole
// UTC days (by asset and day, by device and day; or every record as CSV
// for a spreadsheet) and the audit log, a page at a time.
// Invariant: text from devices and operators goes into JSON or CSV as data
// (a CSV cell that a spreadsheet would run as a formula is prefixed with ').
#include "hub/content_api.h"
#include "schedule/identifiers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimeZone>

#include <map>

namespace stoa::hub::content {
namespace {

constexpr std::int64_t kDayMs = std::int64_t{86400} * 1000;

// A CSV cell: quoted when it holds a separator, quote or line break; a
// leading = + - @ would be a formula in a spreadsheet, so it gets a '.
std::string csvCell(const QString &value)
{
    QString v = value;
    if (!v.isEmpty() && QString("=+-@\t\r").contains(v.front()))
        v.prepend('\'');
    if (v.contains(',') || v.contains('"') || v.contains('\n') || v.contains('\r')) {
        v.replace("\"", "\"\"");
        v = "\"" + v + "\"";
    }
    return v.toStdString();
}

} // namespace

HttpResponse playsReport(Hub::Impl &impl, const HttpRequest &request)
{
    // Whole UTC days, `until` inclusive; default: the last 7 days.
    const QDate today = QDateTime::currentDateTimeUtc().date();
    QDate from = param(request, "from").empty() ? today.addDays(-6) : QDate::fromString(q(param(request, "from")), Qt::ISODate);
    QDate until = param(request, "until").empty() ? today : QDate::fromString(q(param(request, "until")), Qt::ISODate);
    if (!from.isValid() || !until.isValid())
        return errorJson(400, "from and until must be dates, YYYY-MM-DD");
    if (until < from)
        return errorJson(400, "until is before from");
    if (from.daysTo(until) > 366)
        return errorJson(400, "at most 366 days at once");
    const std::string device = param(request, "device");
    if (!device.empty() && !schedule::isDeviceId(device))
        return errorJson(400, "device must be a device id");
    const std::string format = param(request, "format").empty() ? "json" : param(request, "format");
    if (format != "json" && format != "csv")
        return errorJson(400, "format must be json or csv");
    const std::int64_t fromMs = from.startOfDay(QTimeZone::utc()).toMSecsSinceEpoch();
    const std::int64_t untilMs = until.addDays(1).startOfDay(QTimeZone::utc()).toMSecsSinceEpoch();
    // A play is counted on the day it started; a device offline for a while
    // sends it later, so receipts up to 30 days (the retention) after the
    // range are read too.
    constexpr int kMaxRecords = 1'000'000;
    auto records = impl.storage->playsReceivedBetween(fromMs, untilMs + 30 * kDayMs, kMaxRecords);
    if (!records)
        return errorJson(503, "database: " + records.error().message);
    // Assets are digests on the wire; the library names them.
    std::map<QString, QStringList> names;
    if (auto media = impl.publisher->media())
        for (const auto &m : *media)
            names[q(m.sha256.ref())] << q(m.name);

    struct Sum {
        std::int64_t plays = 0;
        std::int64_t ms = 0;
    };
    std::map<std::pair<QString, QString>, Sum> byAssetDay;  // (date, asset)
    std::map<std::pair<QString, QString>, Sum> byDeviceDay; // (date, device)
    std::string csv = "device_id,id,started_at,date,asset,media,playlist,duration_ms,completed,reason,received_at\r\n";
    std::int64_t total = 0;
    for (const auto &r : *records) {
        if (!device.empty() && r.deviceId != device)
            continue;
        const auto o = QJsonDocument::fromJson(QByteArray::fromStdString(r.line)).object();
        const QDateTime started = QDateTime::fromString(o.value("started_at").toString(), Qt::ISODateWithMs);
        const std::int64_t at = started.isValid() ? started.toMSecsSinceEpoch() : r.receivedAtMs;
        if (at < fromMs || at >= untilMs)
            continue;
        ++total;
        const QString date = QDateTime::fromMSecsSinceEpoch(at, QTimeZone::utc()).date().toString(Qt::ISODate);
        const QString asset = o.value("asset").isString() ? o.value("asset").toString() : o.value("url").toString();
        const auto ms = static_cast<std::int64_t>(o.value("duration_ms").toDouble());
        auto &a = byAssetDay[{date, asset}];
        ++a.plays;
        a.ms += ms;
        auto &d = byDeviceDay[{date, q(r.deviceId)}];
        ++d.plays;
        d.ms += ms;
        if (format == "csv") {
            const auto n = names.find(asset);
            csv += csvCell(q(r.deviceId)) + "," + csvCell(o.value("id").toString()) + ","
                   + csvCell(QDateTime::fromMSecsSinceEpoch(at, QTimeZone::utc()).toString(Qt::ISODateWithMs)) + ","
                   + date.toStdString() + "," + csvCell(asset) + "," + csvCell(n == names.end() ? QString() : n->second.join(' '))
                   + "," + csvCell(o.value("playlist").toString()) + "," + std::to_string(ms) + ","
                   + (o.value("completed").toBool() ? "true" : "false") + "," + csvCell(o.value("reason").toString()) + ","
                   + rfc3339(r.receivedAtMs) + "\r\n";
        }
    }
    const bool truncated = records->size() >= static_cast<std::size_t>(kMaxRecords);
    if (format == "csv") {
        HttpResponse r;
        r.contentType = "text/csv; charset=utf-8";
        r.body = std::move(csv);
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"plays-" + from.toString(Qt::ISODate).toStdString()
                                                          + "-to-" + until.toString(Qt::ISODate).toStdString() + ".csv\"");
        if (truncated)
            r.headers.emplace_back("X-Stoa-Truncated", "true");
        return r;
    }
    QJsonArray assets;
    for (const auto &[key, sum] : byAssetDay) {
        const auto n = names.find(key.second);
        assets.append(QJsonObject{{"date", key.first}, {"asset", key.second},
                                  {"media", n == names.end() ? QJsonArray() : QJsonArray::fromStringList(n->second)},
                                  {"plays", static_cast<qint64>(sum.plays)}, {"duration_ms", static_cast<qint64>(sum.ms)}});
    }
    QJsonArray devices;
    for (const auto &[key, sum] : byDeviceDay)
        devices.append(QJsonObject{{"date", key.first}, {"device", key.second},
                                   {"plays", static_cast<qint64>(sum.plays)}, {"duration_ms", static_cast<qint64>(sum.ms)}});
    return jsonOf(200, QJsonObject{{"from", from.toString(Qt::ISODate)}, {"until", until.toString(Qt::ISODate)},
                                   {"plays", static_cast<qint64>(total)}, {"truncated", truncated},
                                   {"by_asset_day", assets}, {"by_device_day", devices}});
}

HttpResponse auditLog(Hub::Impl &impl, const HttpRequest &request)
{
    bool ok = true;
    const std::int64_t before = param(request, "before").empty() ? 0 : q(param(request, "before")).toLongLong(&ok);
    if (!ok || before < 0)
        return errorJson(400, "before must be an entry id");
    int limit = 100;
    if (!param(request, "limit").empty()) {
        limit = q(param(request, "limit")).toInt(&ok);
        if (!ok || limit < 1 || limit > 1000)
            return errorJson(400, "limit must be 1-1000");
    }
    auto list = impl.storage->audit(before, limit);
    if (!list)
        return errorJson(503, "database: " + list.error().message);
    QJsonArray out;
    for (const auto &e : *list)
        out.append(QJsonObject{{"id", static_cast<qint64>(e.id)}, {"at", q(rfc3339(e.atMs))},
                               {"operator", q(e.operatorName)}, {"action", q(e.action)},
                               {"target", q(e.target)}, {"detail", q(e.detail)}});
    return jsonOf(200, QJsonObject{{"entries", out},
                                   {"next_before", list->size() == static_cast<std::size_t>(limit)
                                                       ? QJsonValue(static_cast<qint64>(list->back().id)) : QJsonValue()}});
}

} // namespace stoa::hub::content
