// schedule/keys.h — Ed25519 keys: PEM in and out, raw bytes, keyids, sign/verify.
//
// Job: wrap OpenSSL 3 EVP Ed25519 keys (RFC 8032 pure Ed25519) in small
// value types. Formats are those of protocol-v1 §2: public keys as PEM
// "PUBLIC KEY" (SubjectPublicKeyInfo, `openssl pkey -pubout`), private keys
// as PEM "PRIVATE KEY" (PKCS#8, `openssl genpkey -algorithm ed25519`).
// Invariants:
//  - a PublicKey always holds a usable Ed25519 key, its 32 raw bytes and its
//    keyid = lowercase hex SHA-256 of those 32 bytes;
//  - a PrivateKey always holds a usable Ed25519 private key;
//  - both are cheap to copy (the OpenSSL object is shared, immutable).
#pragma once

#include "schedule/rejection.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <expected>
#include <memory>
#include <string>
#include <vector>

using EVP_PKEY = struct evp_pkey_st;

namespace stoa::schedule {

class PublicKey {
public:
    // From the 32 raw bytes (as carried in a keys document, §4).
    static std::expected<PublicKey, Rejection> fromRaw(QByteArrayView raw32);

    const std::string &keyId() const { return m_keyId; }
    const QByteArray &raw() const { return m_raw; }
    QByteArray toPem() const; // "-----BEGIN PUBLIC KEY-----" SPKI

    // True when `signature` is a valid Ed25519 signature of `message`.
    bool verify(QByteArrayView message, QByteArrayView signature) const;

private:
    PublicKey() = default;
    std::shared_ptr<EVP_PKEY> m_key;
    QByteArray m_raw;     // 32 bytes
    std::string m_keyId;  // 64 lowercase hex
};

class PrivateKey {
public:
    static std::expected<PrivateKey, Rejection> generate();

    const PublicKey &publicKey() const { return m_public; }
    QByteArray toPem() const; // "-----BEGIN PRIVATE KEY-----" PKCS#8, unencrypted

    // Ed25519 signature (64 bytes) of `message`.
    std::expected<QByteArray, Rejection> sign(QByteArrayView message) const;

private:
    friend std::expected<PrivateKey, Rejection> loadPrivateKeyPem(QByteArrayView pem);
    PrivateKey(std::shared_ptr<EVP_PKEY> key, PublicKey pub)
        : m_key(std::move(key)), m_public(std::move(pub)) {}
    std::shared_ptr<EVP_PKEY> m_key;
    PublicKey m_public;
};

// Every "PUBLIC KEY" block in `pem` (a trusted-keys file may hold several).
// Fails when there is none, or when any block is not an Ed25519 key: a
// half-read trust file is worse than a refused one.
std::expected<std::vector<PublicKey>, Rejection> loadPublicKeysPem(QByteArrayView pem);
std::expected<std::vector<PublicKey>, Rejection> loadPublicKeysPemFile(const QString &path);

// The number of "CERTIFICATE" blocks in `pem` (a TLS CA bundle: a device's
// `ca_file`, which libcurl reads). Fails when there is none, or when any
// block is not a whole X.509 certificate: a device given a broken CA bundle could never reach its hub, so the
// bundle is refused where it is written and where it is installed.
std::expected<int, Rejection> countCertificatesPem(QByteArrayView pem);

// The single "PRIVATE KEY" (PKCS#8, unencrypted) block in `pem`.
std::expected<PrivateKey, Rejection> loadPrivateKeyPem(QByteArrayView pem);
std::expected<PrivateKey, Rejection> loadPrivateKeyPemFile(const QString &path);

// Writes the private PEM (mode 0600, refuses to overwrite an existing file)
// and the public PEM next to it.
std::expected<void, Rejection> writeKeyPairPem(const PrivateKey &key,
                                               const QString &privatePath,
                                               const QString &publicPath);

} // namespace stoa::schedule
