// publish/keys_document.h — `stoa keys`: the §4 signing-keys document of a site.
//
// Job: build SITE/v1/keys.json, a keys document signed by a root key. The new
// key set is the existing document's (when it verifies with this root) plus
// the added keys minus the revoked ones; `replace` starts from nothing.
// Invariants:
//  - version = max(existing version + 1, minVersion, 1);
//  - the result is checked with the device's own parseKeysDocument and the
//    root's public key before it is written (atomically, site.h);
//  - an existing keys.json that this root cannot verify is never silently
//    merged: the caller must ask for `replace`.
#pragma once

#include "schedule/keys.h"
#include "publish/error.h"

#include <QDateTime>
#include <QString>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace stoa::publish {

inline constexpr std::int64_t kDefaultKeysLifetimeMs = std::int64_t{365} * 86400 * 1000;

struct KeysOptions {
    QString site;
    std::vector<schedule::PublicKey> add;  // signing keys to list
    std::vector<std::string> revoke;       // keyids to drop
    bool replace = false;                  // ignore the existing document's keys
    std::optional<int> threshold;          // absent: 1 (or the existing threshold if it still fits)
    std::int64_t expiresInMs = kDefaultKeysLifetimeMs;
    std::optional<std::int64_t> minVersion;
    // v1.1 §11 "manifest_version_floor": devices that adopt the document
    // lower their highest adopted manifest version to this. Never carried
    // over from the existing document: each reset is a deliberate act.
    std::optional<std::int64_t> manifestVersionFloor;
    QDateTime now;                         // invalid: the current time
};

struct KeysResult {
    std::int64_t version = 0;
    QDateTime expiresAt;
    int threshold = 1;
    std::vector<std::string> keyIds;  // the key set written, in document order
    std::optional<std::int64_t> manifestVersionFloor;
    QString path;
};

std::expected<KeysResult, Error> writeKeysDocument(const KeysOptions &options, const schedule::PrivateKey &root);

} // namespace stoa::publish
