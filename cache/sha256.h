// cache/sha256.h — streaming SHA-256 (OpenSSL EVP), for naming and checking blobs.
//
// Invariant: a Sha256 object is either fresh, fed, or finished; feeding after
// finish() starts nothing new (callers construct a new one per blob).
#pragma once

#include "cache/error.h"

#include <array>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

struct evp_md_ctx_st;

namespace stoa::cache {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256 &&) noexcept;
    Sha256 &operator=(Sha256 &&) noexcept;

    void update(std::span<const std::byte> bytes);
    // Lowercase hex of the digest; the object is spent afterwards.
    std::string finishHex();

private:
    struct CtxFree {
        void operator()(evp_md_ctx_st *) const;
    };
    std::unique_ptr<evp_md_ctx_st, CtxFree> m_ctx;
};

// Hashes a whole file in bounded memory (1 MiB buffer).
Result<std::string> sha256File(const std::filesystem::path &path);

// True for exactly 64 lowercase hex digits.
bool isSha256Hex(std::string_view hex);

} // namespace stoa::cache
