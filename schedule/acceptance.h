// schedule/acceptance.h — may this device adopt this manifest? (protocol-v1 §3)
//
// Job: the device-side rules that come after signature and shape: rollback
// (version), freeze (expiry by trusted time, §7), audience, references.
// Plus one entry point for the whole chain: envelope bytes -> signature ->
// parse -> acceptance. Pure: the caller supplies the adopted version floor,
// the trusted time and the device id, and persists what it adopts.
#pragma once

#include "schedule/envelope.h"
#include "schedule/manifest.h"
#include "schedule/rejection.h"
#include "schedule/trust_store.h"

#include <QByteArrayView>
#include <QDateTime>
#include <QString>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace stoa::schedule {

struct AcceptanceContext {
    std::optional<std::int64_t> adoptedVersion; // highest version adopted so far; none: first manifest
    QDateTime trustedNow;                       // §7 trusted time (UTC)
    QString deviceId;
};

// Rollback, expiry, audience and reference checks of a parsed manifest.
std::expected<void, Rejection> checkAcceptance(const Manifest &manifest,
                                               const AcceptanceContext &context);

struct AcceptedManifest {
    Manifest manifest;
    QByteArray payload;               // the authenticated payload bytes
    std::vector<std::string> signers; // keyids that signed it
};

// bytes -> verify (TrustStore rules) -> parseManifest -> checkAcceptance.
std::expected<AcceptedManifest, Rejection> acceptManifestEnvelope(QByteArrayView envelope,
                                                                  const TrustStore &trust,
                                                                  const AcceptanceContext &context);

} // namespace stoa::schedule
