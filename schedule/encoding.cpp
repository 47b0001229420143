// schedule/encoding.cpp — see encoding.h. Hand-written base64 because the
// accepted-input rules (two alphabets, optional padding, nothing else) are
// part of the protocol and must not depend on a library's leniency.
#include "schedule/encoding.h"

namespace stoa::schedule {
namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum class Alphabet { Unknown, Standard, UrlSafe };

// 0..63, or -1 for characters outside both alphabets. '+' '/' are standard
// only, '-' '_' URL-safe only; the caller keeps one alphabet per text.
int sextet(char c, Alphabet &alphabet)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    const bool std = (c == '+' || c == '/');
    const bool url = (c == '-' || c == '_');
    if (!std && !url) return -1;
    const Alphabet mine = std ? Alphabet::Standard : Alphabet::UrlSafe;
    if (alphabet != Alphabet::Unknown && alphabet != mine) return -1;
    alphabet = mine;
    return (c == '+' || c == '-') ? 62 : 63;
}

} // namespace

QByteArray encodeBase64(QByteArrayView bytes)
{
    QByteArray out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    qsizetype i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = (unsigned(p[i]) << 16) | (unsigned(p[i + 1]) << 8) | p[i + 2];
        out.append(kStdAlphabet[(v >> 18) & 63]).append(kStdAlphabet[(v >> 12) & 63])
           .append(kStdAlphabet[(v >> 6) & 63]).append(kStdAlphabet[v & 63]);
    }
    const qsizetype rest = bytes.size() - i;
    if (rest == 1) {
        const unsigned v = unsigned(p[i]) << 16;
        out.append(kStdAlphabet[(v >> 18) & 63]).append(kStdAlphabet[(v >> 12) & 63]).append("==");
    } else if (rest == 2) {
        const unsigned v = (unsigned(p[i]) << 16) | (unsigned(p[i + 1]) << 8);
        out.append(kStdAlphabet[(v >> 18) & 63]).append(kStdAlphabet[(v >> 12) & 63])
           .append(kStdAlphabet[(v >> 6) & 63]).append('=');
    }
    return out;
}

std::optional<QByteArray> decodeBase64(QByteArrayView text)
{
    qsizetype len = text.size();
    qsizetype pad = 0;
    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        --len;
        ++pad;
    }
    // Padding, when present, must complete the last group to 4 characters.
    if (pad > 0 && (len + pad) % 4 != 0) return std::nullopt;
    const qsizetype tail = len % 4;
    if (tail == 1) return std::nullopt;

    // Sized up front and written by index: payloads are up to 4 MiB.
    QByteArray out(len / 4 * 3 + (tail ? tail - 1 : 0), Qt::Uninitialized);
    char *dst = out.data();
    Alphabet alphabet = Alphabet::Unknown;
    unsigned acc = 0;
    int bits = 0;
    for (qsizetype i = 0; i < len; ++i) {
        const int v = sextet(text[i], alphabet);
        if (v < 0) return std::nullopt; // includes '=' inside the text
        acc = ((acc << 6) | unsigned(v)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *dst++ = char((acc >> bits) & 0xff);
        }
    }
    // Leftover bits of a partial group must be zero (canonical encoding).
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

QByteArray pae(QByteArrayView payloadType, QByteArrayView body)
{
    QByteArray out;
    out.reserve(payloadType.size() + body.size() + 48);
    out.append("DSSEv1 ")
        .append(QByteArray::number(payloadType.size()))
        .append(' ')
        .append(payloadType)
        .append(' ')
        .append(QByteArray::number(body.size()))
        .append(' ')
        .append(body);
    return out;
}

} // namespace stoa::schedule
