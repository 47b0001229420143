// schedule/encoding.h — byte encodings of protocol-v1 §2: base64, hex, PAE.
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
#include <string>

namespace stoa::schedule {

// Standard base64 with '=' padding.
QByteArray encodeBase64(QByteArrayView bytes);

// Lenient-in-alphabet, strict-in-shape decoder (see invariants). nullopt when
// the text is not base64 under those rules.
std::optional<QByteArray> decodeBase64(QByteArrayView text);

// Lowercase hex of arbitrary bytes.
std::string toHex(QByteArrayView bytes);

// True when `text` is exactly 64 lowercase hex digits (a SHA-256 / keyid).
bool isLowerHex64(QByteArrayView text);

// Lowercase hex SHA-256 of `bytes`.
std::string sha256Hex(QByteArrayView bytes);

// DSSE pre-authentication encoding: the exact bytes that are signed.
QByteArray pae(QByteArrayView payloadType, QByteArrayView body);

} // namespace stoa::schedule
