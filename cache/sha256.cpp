#include "cache/sha256.h"

#include "cache/durable.h"

#include <openssl/evp.h>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace stoa::cache {

void Sha256::CtxFree::operator()(evp_md_ctx_st *ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new())
{
    // Only fails on allocation failure, which we treat like the rest of the
    // program does: fatal.
    if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1)
        std::abort();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256 &&) noexcept = default;
Sha256 &Sha256::operator=(Sha256 &&) noexcept = default;

void Sha256::update(std::span<const std::byte> bytes)
{
    EVP_DigestUpdate(m_ctx.get(), bytes.data(), bytes.size());
}

std::string Sha256::finishHex()
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_ctx.get(), md, &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex(len * 2, '0');
    for (unsigned int i = 0; i < len; ++i) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    return hex;
}

Result<std::string> sha256File(const std::filesystem::path &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return std::unexpected(osError("open " + path.string(), errno));
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    Sha256 hash;
    std::vector<std::byte> buf(1 << 20);
    auto ok = readChunks(fd.get(), buf, [&](std::span<const std::byte> c) {
        hash.update(c);
        return true;
    }, path.string());
    if (!ok)
        return std::unexpected(ok.error());
    return hash.finishHex();
}

bool isSha256Hex(std::string_view hex)
{
    if (hex.size() != 64)
        return false;
    for (char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

} // namespace stoa::cache
