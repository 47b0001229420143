// schedule/status_report.h — the device status document of spec §5.
//
// One model and one JSON writer for the two places that produce it: the
// agent's heartbeat (POST …/status) and the player's local GET /status
// (spec §8). Pure: plain data in, bytes out.
//
// Invariants: every §5 key is always present (unknown values are JSON
// null, never left out), times are RFC 3339 UTC with a 'Z' and whole seconds.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stoa::schedule {

struct StatusReport {
    std::string deviceId;
    std::string softwareVersion;
    QDateTime sentAt;                    // trusted now, UTC
    std::int64_t uptimeS = 0;
    std::optional<std::int64_t> manifestVersion; // nullopt: "manifest": null
    QDateTime manifestExpiresAt;         // invalid: null
    bool stale = false;
    std::optional<bool> signerRevoked;   // v1.1 §11 manifest.signer_revoked; nullopt: unknown (null)
    QJsonObject nowPlaying;              // {"playlist", "asset", "url"}; missing keys: null
    QDateTime lastSuccessAt;             // invalid: never (null)
    std::string lastError;               // empty: null
    int consecutiveFailures = 0;
    std::uint64_t bytesUsed = 0, bytesLimit = 0, assets = 0;
    bool clockTrusted = false;
    std::string clockSource;             // "ntp", "system", "floor"
    std::optional<double> cpuTempC;
    std::optional<bool> throttled;
    std::optional<std::uint64_t> diskFreeBytes;
    std::vector<std::string> pendingCommands;
};

QJsonObject statusReportObject(const StatusReport &in);
QByteArray statusReportJson(const StatusReport &in); // compact
// RFC 3339 UTC with a 'Z', seconds precision.
QString rfc3339Utc(const QDateTime &t);

} // namespace stoa::schedule
