// hub/passwords.h — operator passwords, kept as a memory-hard hash.
//
// Job: hash a password with scrypt (OpenSSL 3's EVP_PBE_scrypt: N = 2^15,
// r = 8, p = 1, about 32 MiB and 0.1 s a try, a fresh 16-byte salt) and
// check one against a stored hash, in constant time.
// Stored form: "scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>", so the cost
// can rise later without breaking the hashes already stored.
// Invariant: a password is never logged nor kept after the call.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stoa::hub {

// nullopt only when OpenSSL fails (no randomness, no memory).
std::optional<std::string> hashPassword(std::string_view password);
bool verifyPassword(std::string_view password, std::string_view stored);

} // namespace stoa::hub
