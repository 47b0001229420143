// sync/telemetry.cpp — proof-of-play bodies (see telemetry.h).
#include "sync/telemetry.h"

#include <QJsonDocument>

namespace stoa::sync {

QByteArray playsNdjson(const std::vector<cache::PlayRecord> &records)
{
    QByteArray out;
    for (const auto &r : records) {
        QJsonObject o{
            {"id", QString::fromStdString(r.id)},
            {"asset", r.asset ? QJsonValue(QString::fromStdString(*r.asset)) : QJsonValue()},
            {"url", r.url ? QJsonValue(QString::fromStdString(*r.url)) : QJsonValue()},
            {"playlist", QString::fromStdString(r.playlist)},
            {"started_at", QString::fromStdString(r.startedAt)},
            {"duration_ms", qint64(r.durationMs)},
            {"completed", r.completed},
        };
        if (r.reason)
            o.insert("reason", QString::fromStdString(*r.reason));
        if (r.layout && r.region) { // v1.1 §12: an item of a layout's region
            o.insert("layout", QString::fromStdString(*r.layout));
            o.insert("region", QString::fromStdString(*r.region));
        }
        out += QJsonDocument(o).toJson(QJsonDocument::Compact);
        out += '\n';
    }
    return out;
}

} // namespace stoa::sync
