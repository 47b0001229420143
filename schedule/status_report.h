// schedule/status_report.h — the device status document of spec §5.
//
// One model and one JSON writer for the two places that produce it: the
// agent's heartbeat (POST …/status) and the player's local GET /status
// (spec §8). Pure: plain data in, bytes out.
//
// Beyond the letter of §5 (docs/protocol.md, "Status heartbeat: fields
// added"): sync.staged_blocked; now_playing.layout and .regions (the
// player's, passed on as written). v1.1 §13's sync.state is written only
// while a synchronised playlist plays (the spec gives no value for "none").
//
// health is the device's one health type (schedule/device_health.h) as it
// is: §5 carries three of its fields (cpu_temp_c, throttled,
// disk_free_bytes); the others are for /metrics and the diagnostics screen
// and never reach this document.
//
// Invariants: every §5 key is always present (unknown values are JSON
// null, never left out), times are RFC 3339 UTC with a 'Z' and whole seconds.
#pragma once

#include "schedule/device_health.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stoa::schedule {

struct StatusReport {
    // A staged manifest that cannot be activated, and why (sync.staged_blocked).
    struct StagedBlocked {
        std::int64_t version = 0; // the staged manifest's
        std::string reason;       // fixed code: no_space, blob_corrupt, blob_too_large, blob_unreachable,
                                  // store_error, download_window_closed
        std::string message;      // one sentence in plain words
        QDateTime since;          // since when this reason has held it back
    };

    std::string deviceId;
    std::string softwareVersion;
    QDateTime sentAt;                    // trusted now, UTC
    std::int64_t uptimeS = 0;
    std::optional<std::int64_t> manifestVersion; // nullopt: "manifest": null
    QDateTime manifestExpiresAt;         // invalid: null
    bool stale = false;
    std::optional<bool> signerRevoked;   // v1.1 §11 manifest.signer_revoked; nullopt: unknown (null)
    // {"playlist", "asset", "url"}; missing keys: null. Other keys are
    // written as given: under a layout the player adds "layout" and
    // "regions" (docs/protocol.md), and the agent passes them on unread.
    QJsonObject nowPlaying;
    QDateTime lastSuccessAt;             // invalid: never (null)
    std::string lastError;               // empty: null
    int consecutiveFailures = 0;
    std::optional<StagedBlocked> stagedBlocked; // nullopt: null (nothing staged, or nothing holds it back)
    std::string syncState;               // v1.1 §13 sync.state: "synchronised" / "unsynchronised"; empty: key absent
    std::uint64_t bytesUsed = 0, bytesLimit = 0, assets = 0;
    bool clockTrusted = false;
    std::string clockSource;             // "ntp", "system", "floor"
    DeviceHealth health;                 // §5 health.{cpu_temp_c, throttled, disk_free_bytes}; unknown: null
    std::vector<std::string> pendingCommands;
};

QJsonObject statusReportObject(const StatusReport &in);
QByteArray statusReportJson(const StatusReport &in); // compact
// RFC 3339 UTC with a 'Z', seconds precision.
QString rfc3339Utc(const QDateTime &t);

} // namespace stoa::schedule
