#include "hub/passwords.h"

#include "schedule/encoding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <vector>

namespace stoa::hub {
namespace {

constexpr int kLogN = 15;
constexpr int kR = 8;
constexpr int kP = 1;
constexpr std::size_t kHashBytes = 32;
constexpr std::uint64_t kMaxMem = 64ull << 20;

bool derive(std::string_view password, const QByteArray &salt, int logN, int r, int p, unsigned char *out, std::size_t outLen)
{
    return EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char *>(salt.constData()),
                          static_cast<std::size_t>(salt.size()), std::uint64_t{1} << logN, static_cast<std::uint64_t>(r),
                          static_cast<std::uint64_t>(p), kMaxMem, out, outLen)
           == 1;
}

std::vector<std::string> split(std::string_view s, char sep)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        const auto next = s.find(sep, pos);
        out.emplace_back(s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
        if (next == std::string_view::npos)
            return out;
        pos = next + 1;
    }
}

} // namespace

std::optional<std::string> hashPassword(std::string_view password)
{
    std::array<unsigned char, 16> salt{};
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
        return std::nullopt;
    const QByteArray saltBytes(reinterpret_cast<const char *>(salt.data()), static_cast<qsizetype>(salt.size()));
    std::array<unsigned char, kHashBytes> hash{};
    if (!derive(password, saltBytes, kLogN, kR, kP, hash.data(), hash.size()))
        return std::nullopt;
    return "scrypt$" + std::to_string(kLogN) + "$" + std::to_string(kR) + "$" + std::to_string(kP) + "$"
           + schedule::encodeBase64(saltBytes).toStdString() + "$"
           + schedule::encodeBase64(QByteArray(reinterpret_cast<const char *>(hash.data()), kHashBytes)).toStdString();
}

bool verifyPassword(std::string_view password, std::string_view stored)
{
    const auto parts = split(stored, '$');
    if (parts.size() != 6 || parts[0] != "scrypt")
        return false;
    int logN = 0, r = 0, p = 0;
    try {
        logN = std::stoi(parts[1]);
        r = std::stoi(parts[2]);
        p = std::stoi(parts[3]);
    } catch (...) {
        return false;
    }
    if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16)
        return false;
    const auto salt = schedule::decodeBase64(QByteArray::fromStdString(parts[4]));
    const auto expected = schedule::decodeBase64(QByteArray::fromStdString(parts[5]));
    if (!salt || !expected || expected->isEmpty() || expected->size() > 64)
        return false;
    std::vector<unsigned char> got(static_cast<std::size_t>(expected->size()));
    if (!derive(password, *salt, logN, r, p, got.data(), got.size()))
        return false;
    return CRYPTO_memcmp(got.data(), expected->constData(), got.size()) == 0;
}

} // namespace stoa::hub
