// sync/telemetry.h — the bodies the agent sends: heartbeat (§5) and proof of
// play (§6). Pure builders; sending and pacing live in the agent.
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

struct HeartbeatInputs {
    std::string deviceId;
    std::string softwareVersion;
    QDateTime sentAt;                    // trusted now, UTC
    std::int64_t uptimeS = 0;
    std::optional<std::int64_t> manifestVersion;
    QDateTime manifestExpiresAt;         // invalid: no manifest
    bool stale = false;
    QJsonObject nowPlaying;              // as the player reported it; empty: nulls
    QDateTime lastSuccessAt;             // invalid: never
    std::string lastError;               // empty: null
    int consecutiveFailures = 0;
    std::uint64_t bytesUsed = 0, bytesLimit = 0, assets = 0;
    bool clockTrusted = false;
    std::string clockSource;
    std::optional<double> cpuTempC;
    std::optional<bool> throttled;
    std::optional<std::uint64_t> diskFreeBytes;
    std::vector<std::string> pendingCommands;
};

QByteArray heartbeatJson(const HeartbeatInputs &in);
// One JSON object per line, §6 fields (plus "reason" when an item was skipped).
QByteArray playsNdjson(const std::vector<cache::PlayRecord> &records);
// RFC 3339 UTC with a 'Z', seconds precision.
QString rfc3339(const QDateTime &utc);

} // namespace stoa::sync
