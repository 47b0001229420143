// schedule/keys.cpp — see keys.h. OpenSSL objects live in shared_ptrs with
// their free functions as deleters so that no path can leak them; the
// OpenSSL error queue is cleared after every failure so that one bad key
// never surfaces as a mysterious error in unrelated code later.
#include "schedule/keys.h"

#include "schedule/digest.h"

#include <QFile>
#include <QFileDevice>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>

namespace stoa::schedule {
namespace {

constexpr qsizetype kRawKeyBytes = 32;
constexpr qsizetype kSignatureBytes = 64;

Rejection badKey(QString reason)
{
    ERR_clear_error();
    return Rejection{RejectCode::BadKey, std::move(reason)};
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY *key)
{
    return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::unique_ptr<BIO, decltype(&BIO_free)> memBio(QByteArrayView bytes)
{
    return {BIO_new_mem_buf(bytes.data(), int(bytes.size())), BIO_free};
}

QByteArray bioContents(BIO *bio)
{
    char *data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return QByteArray(data, qsizetype(len));
}

// One PEM block: its label and DER body. nullopt at the end of input.
struct PemBlock {
    QString name;
    QByteArray der;
};

// A broken block is an error, not the end: otherwise a damaged second key
// in a trust file would silently leave only the first one trusted.
std::expected<std::optional<PemBlock>, Rejection> nextPemBlock(BIO *bio)
{
    char *name = nullptr;
    char *header = nullptr;
    unsigned char *data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
        const unsigned long err = ERR_peek_last_error();
        const bool end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
        ERR_clear_error();
        if (end) return std::optional<PemBlock>();
        return std::unexpected(Rejection{RejectCode::BadKey, QStringLiteral("damaged PEM block (bad base64 or missing END line)")});
    }
    PemBlock block{QString::fromLatin1(name), QByteArray(reinterpret_cast<const char *>(data), qsizetype(len))};
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return block;
}

std::expected<QByteArray, Rejection> readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return std::unexpected(Rejection{RejectCode::Io, QStringLiteral("cannot read %1: %2").arg(path, file.errorString())});
    // Key files are tiny; a huge file is a wrong path, not a key file.
    if (file.size() > 1024 * 1024)
        return std::unexpected(Rejection{RejectCode::Io, QStringLiteral("%1 is too large to be a key file").arg(path)});
    return file.readAll();
}

std::expected<PublicKey, Rejection> publicFromPkey(const EVP_PKEY *key)
{
    if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
        return std::unexpected(badKey(QStringLiteral("key is not an Ed25519 key")));
    std::array<unsigned char, kRawKeyBytes> raw{};
    std::size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size())
        return std::unexpected(badKey(QStringLiteral("cannot extract the Ed25519 public key")));
    return PublicKey::fromRaw(QByteArrayView(reinterpret_cast<const char *>(raw.data()), kRawKeyBytes));
}

} // namespace

std::expected<PublicKey, Rejection> PublicKey::fromRaw(QByteArrayView raw32)
{
    if (raw32.size() != kRawKeyBytes)
        return std::unexpected(badKey(QStringLiteral("an Ed25519 public key is 32 bytes, got %1").arg(raw32.size())));
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char *>(raw32.data()),
                                                std::size_t(raw32.size()));
    if (!key)
        return std::unexpected(badKey(QStringLiteral("OpenSSL refused the Ed25519 public key")));
    PublicKey pub;
    pub.m_key = own(key);
    pub.m_raw = raw32.toByteArray();
    pub.m_keyId = sha256(raw32).hex();
    return pub;
}

QByteArray PublicKey::toPem() const
{
    auto bio = std::unique_ptr<BIO, decltype(&BIO_free)>(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), m_key.get()) != 1) {
        ERR_clear_error();
        return {};
    }
    return bioContents(bio.get());
}

bool PublicKey::verify(QByteArrayView message, QByteArrayView signature) const
{
    if (signature.size() != kSignatureBytes || !m_key) return false;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    // Ed25519 is a one-shot scheme: no digest, the whole message at once.
    const bool ok = ctx
        && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, m_key.get()) == 1
        && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char *>(signature.data()),
                            std::size_t(signature.size()),
                            reinterpret_cast<const unsigned char *>(message.data()),
                            std::size_t(message.size())) == 1;
    if (!ok) ERR_clear_error();
    return ok;
}

std::expected<PrivateKey, Rejection> PrivateKey::generate()
{
    EVP_PKEY *raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!raw) return std::unexpected(badKey(QStringLiteral("Ed25519 key generation failed")));
    auto key = own(raw);
    auto pub = publicFromPkey(key.get());
    if (!pub) return std::unexpected(pub.error());
    return PrivateKey(std::move(key), std::move(*pub));
}

QByteArray PrivateKey::toPem() const
{
    auto bio = std::unique_ptr<BIO, decltype(&BIO_free)>(BIO_new(BIO_s_mem()), BIO_free);
    // PEM_write_bio_PrivateKey writes PKCS#8 "PRIVATE KEY", like openssl genpkey.
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), m_key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return bioContents(bio.get());
}

std::expected<QByteArray, Rejection> PrivateKey::sign(QByteArrayView message) const
{
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    QByteArray sig(kSignatureBytes, '\0');
    std::size_t len = std::size_t(sig.size());
    const bool ok = ctx
        && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, m_key.get()) == 1
        && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(sig.data()), &len,
                          reinterpret_cast<const unsigned char *>(message.data()),
                          std::size_t(message.size())) == 1
        && len == std::size_t(kSignatureBytes);
    if (!ok) return std::unexpected(badKey(QStringLiteral("Ed25519 signing failed")));
    return sig;
}

std::expected<std::vector<PublicKey>, Rejection> loadPublicKeysPem(QByteArrayView pem)
{
    auto bio = memBio(pem);
    if (!bio) return std::unexpected(badKey(QStringLiteral("out of memory reading PEM")));
    std::vector<PublicKey> keys;
    while (true) {
        auto next = nextPemBlock(bio.get());
        if (!next) return std::unexpected(next.error());
        if (!next->has_value()) break;
        const PemBlock *block = &**next;
        if (block->name != QLatin1String("PUBLIC KEY"))
            return std::unexpected(badKey(QStringLiteral("PEM block \"%1\" found where only \"PUBLIC KEY\" blocks belong")
                                              .arg(block->name)));
        const auto *p = reinterpret_cast<const unsigned char *>(block->der.constData());
        EVP_PKEY *raw = d2i_PUBKEY(nullptr, &p, long(block->der.size()));
        if (!raw)
            return std::unexpected(badKey(QStringLiteral("PUBLIC KEY block %1 is not a valid SubjectPublicKeyInfo")
                                              .arg(keys.size() + 1)));
        auto key = own(raw);
        auto pub = publicFromPkey(key.get());
        if (!pub)
            return std::unexpected(badKey(QStringLiteral("PUBLIC KEY block %1: %2").arg(keys.size() + 1).arg(pub.error().reason)));
        keys.push_back(std::move(*pub));
    }
    if (keys.empty())
        return std::unexpected(badKey(QStringLiteral("no \"PUBLIC KEY\" PEM block found")));
    return keys;
}

std::expected<int, Rejection> countCertificatesPem(QByteArrayView pem)
{
    auto bio = memBio(pem);
    if (!bio) return std::unexpected(badKey(QStringLiteral("out of memory reading PEM")));
    int count = 0;
    while (true) {
        auto next = nextPemBlock(bio.get());
        if (!next) return std::unexpected(next.error());
        if (!next->has_value()) break;
        const PemBlock *block = &**next;
        if (block->name != QLatin1String("CERTIFICATE"))
            return std::unexpected(badKey(QStringLiteral("PEM block \"%1\" found where only \"CERTIFICATE\" blocks belong")
                                              .arg(block->name)));
        const auto *p = reinterpret_cast<const unsigned char *>(block->der.constData());
        X509 *cert = d2i_X509(nullptr, &p, long(block->der.size()));
        const bool whole = cert && p == reinterpret_cast<const unsigned char *>(block->der.constData()) + block->der.size();
        X509_free(cert);
        if (!whole)
            return std::unexpected(badKey(QStringLiteral("CERTIFICATE block %1 is not a valid X.509 certificate").arg(count + 1)));
        ++count;
    }
    if (count == 0)
        return std::unexpected(badKey(QStringLiteral("no \"CERTIFICATE\" PEM block found")));
    return count;
}

std::expected<std::vector<PublicKey>, Rejection> loadPublicKeysPemFile(const QString &path)
{
    auto bytes = readFile(path);
    if (!bytes) return std::unexpected(bytes.error());
    auto keys = loadPublicKeysPem(*bytes);
    if (!keys) return std::unexpected(Rejection{keys.error().code, path + QStringLiteral(": ") + keys.error().reason});
    return keys;
}

std::expected<PrivateKey, Rejection> loadPrivateKeyPem(QByteArrayView pem)
{
    auto bio = memBio(pem);
    if (!bio) return std::unexpected(badKey(QStringLiteral("out of memory reading PEM")));
    auto next = nextPemBlock(bio.get());
    if (!next) return std::unexpected(next.error());
    if (!next->has_value())
        return std::unexpected(badKey(QStringLiteral("no PEM block found")));
    const PemBlock *block = &**next;
    if (block->name == QLatin1String("ENCRYPTED PRIVATE KEY"))
        return std::unexpected(badKey(QStringLiteral("the private key is encrypted; use an unencrypted PKCS#8 key")));
    if (block->name != QLatin1String("PRIVATE KEY"))
        return std::unexpected(badKey(QStringLiteral("expected a \"PRIVATE KEY\" (PKCS#8) PEM block, found \"%1\"").arg(block->name)));
    const auto *p = reinterpret_cast<const unsigned char *>(block->der.constData());
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, decltype(&PKCS8_PRIV_KEY_INFO_free)> info(
        d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, long(block->der.size())), PKCS8_PRIV_KEY_INFO_free);
    EVP_PKEY *raw = info ? EVP_PKCS82PKEY(info.get()) : nullptr;
    if (!raw) return std::unexpected(badKey(QStringLiteral("PRIVATE KEY block is not valid PKCS#8")));
    auto key = own(raw);
    auto pub = publicFromPkey(key.get());
    if (!pub) return std::unexpected(pub.error());
    return PrivateKey(std::move(key), std::move(*pub));
}

std::expected<PrivateKey, Rejection> loadPrivateKeyPemFile(const QString &path)
{
    auto bytes = readFile(path);
    if (!bytes) return std::unexpected(bytes.error());
    auto key = loadPrivateKeyPem(*bytes);
    if (!key) return std::unexpected(Rejection{key.error().code, path + QStringLiteral(": ") + key.error().reason});
    return key;
}

std::expected<void, Rejection> writeKeyPairPem(const PrivateKey &key, const QString &privatePath,
                                               const QString &publicPath)
{
    for (const QString &path : {privatePath, publicPath}) {
        if (QFile::exists(path))
            return std::unexpected(Rejection{RejectCode::Io, QStringLiteral("%1 already exists; not overwriting a key").arg(path)});
    }
    const QByteArray privatePem = key.toPem();
    const QByteArray publicPem = key.publicKey().toPem();
    if (privatePem.isEmpty() || publicPem.isEmpty())
        return std::unexpected(badKey(QStringLiteral("cannot encode the key pair as PEM")));

    auto write = [](const QString &path, const QByteArray &bytes, QFileDevice::Permissions perms)
        -> std::expected<void, Rejection> {
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly, perms) || file.write(bytes) != bytes.size()
            || !file.flush())
            return std::unexpected(Rejection{RejectCode::Io, QStringLiteral("cannot write %1: %2").arg(path, file.errorString())});
        return {};
    };
    if (auto ok = write(privatePath, privatePem, QFileDevice::ReadOwner | QFileDevice::WriteOwner); !ok)
        return ok;
    return write(publicPath, publicPem,
                 QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther);
}

} // namespace stoa::schedule
