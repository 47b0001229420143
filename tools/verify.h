// tools/verify.h — `stoa verify`: would a device accept this document?
//
// Job: run a manifest or keys envelope through exactly the device's checks
// (TrustStore, parseManifest, checkAcceptance; schedule/) at a chosen trusted
// time, and summarise what was verified. No rollback check: a lone file has
// no "adopted version" to compare with.
// Invariant: a summary is returned only for a document that passed every
// check; the publish::Error of a failure carries the device's own reason.
#pragma once

#include "schedule/keys.h"
#include "schedule/manifest.h"
#include "publish/error.h"

#include <QByteArray>
#include <QDateTime>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace stoa::tools {

struct VerifyRequest {
    QByteArray envelope;                     // the document to verify
    std::vector<schedule::PublicKey> roots;  // --trusted-keys
    std::optional<QByteArray> keysEnvelope;  // --keys-doc: adopted first, like a device would
    std::optional<QString> deviceId;         // --device-id: audience check; absent: any listed device
    QDateTime at;                            // trusted time for expiry checks (UTC)
};

struct VerifySummary {
    bool isManifest = true;               // else a keys document
    QString payloadType;
    std::int64_t version = 0;
    std::vector<std::string> signers;     // trusted keyids with a valid signature
    std::optional<QDateTime> issuedAt;    // manifests
    QDateTime expiresAt;
    QStringList audience;                 // manifests: `devices`
    std::optional<std::int64_t> keysDocVersion; // the --keys-doc in force, if any
    int threshold = 1;                    // keys documents
    std::vector<std::string> keyIds;      // keys documents: the listed keys
    std::optional<std::int64_t> manifestVersionFloor; // keys documents (v1.1 §11)
};

std::expected<VerifySummary, publish::Error> verifyDocument(const VerifyRequest &request);

// Operator-readable lines (no trailing newline).
QString formatVerifySummary(const VerifySummary &summary);

} // namespace stoa::tools
