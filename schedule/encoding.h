// schedule/encoding.h — byte encodings of protocol-v1 §2: base64 and PAE.
// (Hex digests and SHA-256: schedule/digest.h.)
//
// Job: the exact byte-level rules the envelope depends on, in one place so
// that signing and verifying can never disagree.
// Invariants:
//  - encodeBase64 writes standard alphabet with padding (what writers emit);
//  - decodeBase64 accepts standard or URL-safe alphabet, padded or not, and
//    nothing else: no whitespace, no mixed alphabets, no data after padding,
//    no non-zero bits in the final partial group (so one byte string has
//    exactly one accepted encoding per alphabet/padding choice);
//  - pae() is byte-for-byte "DSSEv1 <len> <type> <len> <body>".
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <optional>

namespace stoa::schedule {

// Standard base64 with '=' padding.
QByteArray encodeBase64(QByteArrayView bytes);

// Lenient-in-alphabet, strict-in-shape decoder (see invariants). nullopt when
// the text is not base64 under those rules.
std::optional<QByteArray> decodeBase64(QByteArrayView text);

// DSSE pre-authentication encoding: the exact bytes that are signed.
QByteArray pae(QByteArrayView payloadType, QByteArrayView body);

} // namespace stoa::schedule
