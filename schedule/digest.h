// schedule/digest.h — a SHA-256 digest as a checked value, and the one
// SHA-256 implementation of the tree (OpenSSL EVP).
//
// Job: name an asset (protocol-v1 §3: "sha256:<64 lowercase hex>"), a blob in
// the store and on the site (blobs/sha256/<hex>), a key id (§2) and the hub's
// token and screenshot hashes with one type, checked once where text comes in
// (manifest parse, a file name read from disk, a row read from state.db) and
// trusted everywhere after.
// Invariants:
//  - a Digest always holds exactly 64 lowercase hex digits: the only ways to
//    get one are fromHex()/fromRef() (which check) and Sha256::finish() /
//    sha256() (which compute);
//  - hex() never carries the "sha256:" prefix; ref() always does;
//  - ordering and equality are those of the hex text (so std::map keeps the
//    order state.db's "ORDER BY hex" gives).
#pragma once

#include <QByteArrayView>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace stoa::schedule {

class Digest {
public:
    // Exactly 64 lowercase hex digits, else nullopt (no prefix, no uppercase:
    // the spec allows one spelling so one blob has one name).
    static std::optional<Digest> fromHex(std::string_view hex);
    // "sha256:<64 lowercase hex>", the manifest's form, else nullopt.
    static std::optional<Digest> fromRef(std::string_view ref);

    const std::string &hex() const { return m_hex; }
    std::string ref() const { return std::string(kPrefix) + m_hex; }

    auto operator<=>(const Digest &) const = default;
    bool operator==(const Digest &) const = default;

    static constexpr std::string_view kPrefix = "sha256:";

private:
    friend class Sha256;
    explicit Digest(std::string hex) : m_hex(std::move(hex)) {}
    std::string m_hex; // 64 lowercase hex digits, checked or computed
};

// Streaming SHA-256. Feed with update(), then finish() once; the object is
// spent afterwards (make a new one per input).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256 &&) noexcept;
    Sha256 &operator=(Sha256 &&) noexcept;

    void update(std::span<const std::byte> bytes);
    void update(QByteArrayView bytes);
    // QByteArrayView converts from a span of bytes too: pick the span.
    void update(std::span<std::byte> bytes) { update(std::span<const std::byte>(bytes)); }
    Digest finish();

private:
    struct CtxFree {
        void operator()(evp_md_ctx_st *) const;
    };
    std::unique_ptr<evp_md_ctx_st, CtxFree> m_ctx;
};

// SHA-256 of bytes held in memory.
Digest sha256(QByteArrayView bytes);
Digest sha256(std::span<const std::byte> bytes);

} // namespace stoa::schedule

template <>
struct std::hash<stoa::schedule::Digest> {
    std::size_t operator()(const stoa::schedule::Digest &d) const noexcept
    {
        return std::hash<std::string>{}(d.hex());
    }
};
