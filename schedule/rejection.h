// schedule/rejection.h — why a signed document, key or manifest was refused.
//
// Job: the single error value of the signing / manifest layer. Every failing
// function in envelope.h, keys.h, trust_store.h, manifest_parse.h and
// acceptance.h returns std::expected<T, Rejection>; nothing throws across
// these boundaries. `reason` is written for an operator reading a log or a
// status report ("version 41 is not newer than adopted 42"), `code` is for
// programs (tests, metrics, the decision whether to retry).
#pragma once

#include <QString>

namespace stoa::schedule {

enum class RejectCode {
    Io,                     // a key file could not be read or written
    BadKey,                 // PEM / raw key material unusable, or signing failed
    Oversize,               // envelope larger than kMaxEnvelopeBytes
    MalformedEnvelope,      // not a DSSE envelope (JSON shape, base64, duplicate keys)
    UnsupportedPayloadType, // payloadType is not one of the two v1 types
    WrongPayloadType,       // a v1 type, but not the one expected here (keys vs manifest)
    NotSigned,              // fewer than `threshold` distinct trusted keys signed it
    MalformedPayload,       // payload JSON breaks §3 / §4 rules (types, ranges, references)
    NotNewer,               // version <= the adopted version (rollback protection)
    Expired,                // expires_at is not after the trusted time (freeze protection)
    NotForThisDevice,       // `devices` names neither this device nor "*"
};

struct Rejection {
    RejectCode code;
    QString reason; // one line, operator-readable, no trailing period
};

} // namespace stoa::schedule
