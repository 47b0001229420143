// sync/telemetry.h — the proof-of-play body the agent sends (§6). A pure
// builder; sending and pacing live in the agent. The heartbeat's body (§5)
// is schedule/status_report.h, shared with the player's /status.
#pragma once

#include "cache/playlog.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stoa::sync {

// One JSON object per line, §6 fields (plus "reason" when an item was skipped).
QByteArray playsNdjson(const std::vector<cache::PlayRecord> &records);

} // namespace stoa::sync
