// hub/credentials.h — bearer tokens the hub issues, and how it keeps them.
//
// Job: make a token (256 random bits from OpenSSL's CSPRNG, base64url, with
// a prefix saying who it is for: "stoa_dev_" for a device, "stoa_op_" for
// an operator's API token, "stoa_os_" for an operator's login session), and
// hash one for storage and lookup.
// Invariants:
//  - the hub stores and compares only SHA-256(token); a token is shown once,
//    when issued. A fast hash is right here (unlike for passwords): a token
//    has 256 bits of entropy, so no dictionary exists to try;
//  - a device token is never accepted on operator routes nor the reverse:
//    the prefix is checked before any lookup, and the two kinds live in
//    different tables.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stoa::hub {

enum class TokenKind { Device, Operator, Session };

// A fresh token of `kind`; nullopt only when the CSPRNG fails.
std::optional<std::string> newToken(TokenKind kind);

// Lowercase hex SHA-256 of the token's bytes.
std::string tokenHash(std::string_view token);

// True when `token` carries the prefix of `kind` and only base64url after it.
bool looksLike(std::string_view token, TokenKind kind);

// The token of an "Authorization: Bearer <token>" header value; empty when
// the header is absent or not a bearer credential.
std::string_view bearerToken(std::string_view authorization);

} // namespace stoa::hub
