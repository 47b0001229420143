#include "hub/credentials.h"

#include "schedule/digest.h"

#include <openssl/rand.h>

#include <array>

namespace stoa::hub {
namespace {

constexpr std::string_view kDevicePrefix = "stoa_dev_";
constexpr std::string_view kOperatorPrefix = "stoa_op_";
constexpr std::string_view kSessionPrefix = "stoa_os_";
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string_view prefix(TokenKind kind)
{
    switch (kind) {
    case TokenKind::Device: return kDevicePrefix;
    case TokenKind::Operator: return kOperatorPrefix;
    case TokenKind::Session: return kSessionPrefix;
    }
    return kOperatorPrefix;
}

} // namespace

std::optional<std::string> newToken(TokenKind kind)
{
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return std::nullopt;
    std::string out(prefix(kind));
    // base64url without padding: 6 bits a character.
    unsigned bits = 0;
    int have = 0;
    for (unsigned char b : bytes) {
        bits = (bits << 8) | b;
        have += 8;
        while (have >= 6) {
            have -= 6;
            out += kAlphabet[(bits >> have) & 63];
        }
    }
    if (have > 0)
        out += kAlphabet[(bits << (6 - have)) & 63];
    return out;
}

std::string tokenHash(std::string_view token)
{
    return schedule::sha256(QByteArrayView(token.data(), static_cast<qsizetype>(token.size()))).hex();
}

bool looksLike(std::string_view token, TokenKind kind)
{
    const auto p = prefix(kind);
    if (!token.starts_with(p) || token.size() == p.size() || token.size() > 200)
        return false;
    return token.substr(p.size()).find_first_not_of(kAlphabet) == std::string_view::npos;
}

std::string_view bearerToken(std::string_view authorization)
{
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size())
        return {};
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        const char a = authorization[i], b = scheme[i];
        if ((a | 0x20) != (b | 0x20))
            return {};
    }
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ')
        token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
    return token;
}

} // namespace stoa::hub
