// schedule/envelope.h — DSSE envelopes (protocol-v1 §2): parse, verify, sign.
//
// Job: turn envelope bytes into authenticated payload bytes, or a Rejection.
// Invariants:
//  - input over kMaxEnvelopeBytes is refused before any parsing;
//  - only the two v1 payload types exist; anything else is refused;
//  - verification counts DISTINCT trusted keyids with a valid signature over
//    PAE(payloadType, payload); signatures with unknown keyids are ignored,
//    a repeated signature never counts twice;
//  - callers get payload bytes only from a successful verify: nothing here
//    parses the payload itself.
#pragma once

#include "schedule/keys.h"
#include "schedule/rejection.h"

#include <QByteArray>
#include <QByteArrayView>

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

namespace stoa::schedule {

inline constexpr char kManifestPayloadType[] = "application/vnd.stoa.manifest+json; version=1";
inline constexpr char kKeysPayloadType[] = "application/vnd.stoa.keys+json; version=1";
inline constexpr qsizetype kMaxEnvelopeBytes = 4 * 1024 * 1024;

struct EnvelopeSignature {
    std::string keyId;  // as written; empty when absent (then never trusted)
    QByteArray sig;     // decoded signature bytes
};

// A syntactically valid envelope whose signatures are NOT yet checked.
struct Envelope {
    QByteArray payloadType;                 // one of the two v1 types
    QByteArray payload;                     // decoded payload bytes (untrusted!)
    std::vector<EnvelopeSignature> signatures;
};

// The outcome of a successful verification.
struct VerifiedPayload {
    QByteArray payloadType;
    QByteArray payload;               // authenticated bytes
    std::vector<std::string> signers; // distinct trusted keyids with a valid signature, sorted
};

// Shape checks only (size, JSON, base64, payload type).
std::expected<Envelope, Rejection> parseEnvelope(QByteArrayView json);

// Signature check of an already parsed envelope: at least `threshold`
// distinct keys of `trusted` must have signed it.
std::expected<VerifiedPayload, Rejection> verifyEnvelope(const Envelope &envelope,
                                                         std::span<const PublicKey> trusted,
                                                         int threshold = 1);

// parseEnvelope + payload type must equal `expectedType` + verifyEnvelope.
std::expected<VerifiedPayload, Rejection> verifyEnvelope(QByteArrayView json,
                                                         QByteArrayView expectedType,
                                                         std::span<const PublicKey> trusted,
                                                         int threshold = 1);

// A signed envelope as JSON bytes (standard padded base64, one signature per
// key, in order). `payloadType` must be one of the two v1 types.
std::expected<QByteArray, Rejection> signEnvelope(QByteArrayView payloadType,
                                                  QByteArrayView payload,
                                                  std::span<const PrivateKey> keys);

// Serialise an Envelope (already holding signatures) to JSON; used by tests
// and tools that assemble envelopes by hand.
QByteArray serializeEnvelope(const Envelope &envelope);

} // namespace stoa::schedule
