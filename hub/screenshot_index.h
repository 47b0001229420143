// hub/screenshot_index.h — which stored screenshot is a device's latest, for
// GET /api/v1/devices/{id}/screenshot (the console's device page).
//
// Job: remember, per device, the digest of the last screenshot the hub
// stored for it, in DATA_DIR/screenshots/latest/DEVICE_ID (one line: the
// hex digest), so the answer survives a restart of the hub.
// Why a file and not the database: Storage has no "latest screenshot of a
// device" query yet (it keeps the records; see docs/console.md, "Left to
// do"); this index is written only after the record was committed, so it
// never names a screenshot the database does not hold. A hub replica that
// did not receive the upload does not know it (PostgreSQL fleets): the
// Storage query replaces this file when it exists.
// Invariants: device ids are checked by the caller (routes.cpp); the file
// is replaced by rename, so a reader sees the old digest or the new one.
#pragma once

#include <optional>
#include <string>

namespace stoa::hub {

void recordLatestScreenshot(const std::string &dataDir, const std::string &deviceId, const std::string &sha256Hex);

// The digest, when one was recorded and its file is still on disk.
std::optional<std::string> latestScreenshot(const std::string &dataDir, const std::string &deviceId);

} // namespace stoa::hub
