// schedule/digest.cpp — see digest.h.
#include "schedule/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace stoa::schedule {

std::optional<Digest> Digest::fromHex(std::string_view hex)
{
    if (hex.size() != 64) return std::nullopt;
    for (const char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    return Digest(std::string(hex));
}

std::optional<Digest> Digest::fromRef(std::string_view ref)
{
    if (!ref.starts_with(kPrefix)) return std::nullopt;
    return fromHex(ref.substr(kPrefix.size()));
}

void Sha256::CtxFree::operator()(evp_md_ctx_st *ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new())
{
    // Fails only when memory is exhausted, which the rest of the program
    // treats as fatal too.
    if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256 &&) noexcept = default;
Sha256 &Sha256::operator=(Sha256 &&) noexcept = default;

void Sha256::update(std::span<const std::byte> bytes) { EVP_DigestUpdate(m_ctx.get(), bytes.data(), bytes.size()); }

void Sha256::update(QByteArrayView bytes)
{
    EVP_DigestUpdate(m_ctx.get(), bytes.data(), static_cast<std::size_t>(bytes.size()));
}

Digest Sha256::finish()
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // Cannot fail for SHA-256 short of memory exhaustion (see the constructor).
    if (EVP_DigestFinal_ex(m_ctx.get(), md, &len) != 1 || len != 32) std::abort();
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex(64, '0');
    for (unsigned int i = 0; i < 32; ++i) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    return Digest(std::move(hex));
}

Digest sha256(QByteArrayView bytes)
{
    Sha256 h;
    h.update(bytes);
    return h.finish();
}

Digest sha256(std::span<const std::byte> bytes)
{
    Sha256 h;
    h.update(bytes);
    return h.finish();
}

} // namespace stoa::schedule
