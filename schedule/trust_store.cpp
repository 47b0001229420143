// schedule/trust_store.cpp — see trust_store.h.
#include "schedule/trust_store.h"

#include "schedule/encoding.h"
#include "schedule/payload_fields.h"
#include "schedule/strict_json.h"

#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <set>

namespace stoa::schedule {
namespace {

Rejection malformedKeys(const QString &reason)
{
    return Rejection{RejectCode::MalformedPayload, QStringLiteral("malformed keys document: ") + reason};
}

} // namespace

std::expected<KeysDocument, Rejection> parseKeysDocument(QByteArrayView json)
{
    auto object = parseStrictJsonObject(json);
    if (!object) return std::unexpected(malformedKeys(object.error()));
    const QJsonObject &o = *object;

    KeysDocument doc;
    const auto version = jsonInteger(o.value(QLatin1String("version")));
    if (!version || *version < 0)
        return std::unexpected(malformedKeys(QStringLiteral("\"version\" must be a non-negative integer")));
    doc.version = *version;

    const QJsonValue expires = o.value(QLatin1String("expires_at"));
    const auto expiresAt = expires.isString() ? parseRfc3339(expires.toString()) : std::nullopt;
    if (!expiresAt)
        return std::unexpected(malformedKeys(QStringLiteral("\"expires_at\" must be an RFC 3339 time")));
    doc.expiresAt = *expiresAt;

    const QJsonValue keys = o.value(QLatin1String("keys"));
    if (!keys.isArray() || keys.toArray().isEmpty())
        return std::unexpected(malformedKeys(QStringLiteral("\"keys\" must be a non-empty array")));
    std::set<std::string> seen;
    const QJsonArray list = keys.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QJsonObject k = list.at(i).toObject();
        const QJsonValue keyid = k.value(QLatin1String("keyid"));
        const QJsonValue pub = k.value(QLatin1String("public_key"));
        if (!list.at(i).isObject() || !keyid.isString() || !pub.isString())
            return std::unexpected(malformedKeys(QStringLiteral("keys[%1] needs string \"keyid\" and \"public_key\"").arg(i)));
        const auto raw = decodeBase64(pub.toString().toLatin1());
        if (!raw)
            return std::unexpected(malformedKeys(QStringLiteral("keys[%1].public_key is not valid base64").arg(i)));
        auto key = PublicKey::fromRaw(*raw);
        if (!key)
            return std::unexpected(malformedKeys(QStringLiteral("keys[%1]: %2").arg(i).arg(key.error().reason)));
        if (keyid.toString().toStdString() != key->keyId())
            return std::unexpected(malformedKeys(QStringLiteral("keys[%1].keyid %2 does not match its key (sha256 is %3)")
                                                     .arg(i).arg(keyid.toString(), QString::fromStdString(key->keyId()))));
        if (!seen.insert(key->keyId()).second)
            return std::unexpected(malformedKeys(QStringLiteral("key %1 is listed twice").arg(keyid.toString())));
        doc.keys.push_back(std::move(*key));
    }

    const QJsonValue threshold = o.value(QLatin1String("threshold"));
    if (!threshold.isUndefined()) {
        const auto t = jsonInteger(threshold);
        if (!t || *t < 1 || *t > std::int64_t(doc.keys.size()))
            return std::unexpected(malformedKeys(QStringLiteral("\"threshold\" must be an integer from 1 to the number of keys (%1)")
                                                     .arg(doc.keys.size())));
        doc.threshold = int(*t);
    }

    const QJsonValue floor = o.value(QLatin1String("manifest_version_floor"));
    if (!floor.isUndefined()) {
        const auto f = jsonInteger(floor);
        if (!f || *f < 0)
            return std::unexpected(malformedKeys(QStringLiteral("\"manifest_version_floor\" must be a non-negative integer")));
        doc.manifestVersionFloor = *f;
    }
    return doc;
}

TrustStore::TrustStore(std::vector<PublicKey> rootKeys) : m_roots(std::move(rootKeys)) {}

std::expected<KeysDocument, Rejection> TrustStore::verifiedKeysDocument(QByteArrayView envelope) const
{
    auto verified = verifyEnvelope(envelope, QByteArrayView(kKeysPayloadType), m_roots, 1);
    if (!verified) {
        if (verified.error().code != RejectCode::NotSigned)
            return std::unexpected(Rejection{verified.error().code, QStringLiteral("keys document: ") + verified.error().reason});
        // The likeliest forger holds a signing key (stolen, or an operator's
        // mistake); naming it tells the operator what happened.
        QString by;
        if (auto parsed = parseEnvelope(envelope); parsed && m_keysDoc) {
            for (const EnvelopeSignature &s : parsed->signatures) {
                const bool signing = std::any_of(m_keysDoc->keys.begin(), m_keysDoc->keys.end(),
                                                 [&](const PublicKey &k) { return k.keyId() == s.keyId; });
                if (signing) {
                    by = QStringLiteral("; it is signed by signing key %1 of keys document version %2, which may "
                                        "sign manifests only")
                             .arg(QString::fromStdString(s.keyId)).arg(m_keysDoc->version);
                    break;
                }
            }
        }
        return std::unexpected(Rejection{RejectCode::NotSigned,
                                         QStringLiteral("keys document is not signed by a root key (%1)%2")
                                             .arg(verified.error().reason, by)});
    }
    return parseKeysDocument(verified->payload);
}

std::expected<KeysDocument, Rejection> TrustStore::checkKeysEnvelope(QByteArrayView envelope,
                                                                     const QDateTime &trustedNow) const
{
    auto doc = verifiedKeysDocument(envelope);
    if (!doc) return doc;
    if (m_keysDoc && doc->version <= m_keysDoc->version)
        return std::unexpected(Rejection{RejectCode::NotNewer,
                                         QStringLiteral("keys document version %1 is not newer than adopted %2")
                                             .arg(doc->version).arg(m_keysDoc->version)});
    if (doc->expiresAt <= trustedNow)
        return std::unexpected(Rejection{RejectCode::Expired,
                                         QStringLiteral("keys document expired at %1 (trusted time is %2)")
                                             .arg(doc->expiresAt.toString(Qt::ISODate), trustedNow.toUTC().toString(Qt::ISODate))});
    return doc;
}

std::expected<KeysDocument, Rejection> TrustStore::adoptKeysEnvelope(QByteArrayView envelope,
                                                                     const QDateTime &trustedNow)
{
    auto doc = checkKeysEnvelope(envelope, trustedNow);
    if (doc) m_keysDoc = *doc;
    return doc;
}

std::expected<KeysDocument, Rejection> TrustStore::restoreKeysEnvelope(QByteArrayView envelope)
{
    auto doc = verifiedKeysDocument(envelope);
    if (doc) m_keysDoc = *doc;
    return doc;
}

std::expected<VerifiedPayload, Rejection> TrustStore::verifyManifestEnvelope(QByteArrayView envelope,
                                                                             const QDateTime &trustedNow) const
{
    auto parsed = parseEnvelope(envelope);
    if (!parsed) return std::unexpected(parsed.error());
    if (parsed->payloadType != QByteArrayView(kManifestPayloadType))
        return std::unexpected(Rejection{RejectCode::WrongPayloadType,
                                         QStringLiteral("payload type is \"%1\", expected a manifest")
                                             .arg(QString::fromUtf8(parsed->payloadType))});
    // Recovery path first: one root signature is always enough.
    auto byRoot = verifyEnvelope(*parsed, m_roots, 1);
    if (byRoot) return byRoot;
    if (!m_keysDoc) return byRoot;
    if (m_keysDoc->expiresAt <= trustedNow)
        return std::unexpected(Rejection{RejectCode::NotSigned,
                                         QStringLiteral("not signed by a root key, and the signing keys expired at %1 "
                                                        "(keys document version %2)")
                                             .arg(m_keysDoc->expiresAt.toString(Qt::ISODate)).arg(m_keysDoc->version)});
    auto bySigning = verifyEnvelope(*parsed, m_keysDoc->keys, m_keysDoc->threshold);
    if (!bySigning)
        return std::unexpected(Rejection{RejectCode::NotSigned,
                                         QStringLiteral("not signed by a root key, nor by the signing keys of keys "
                                                        "document version %1: %2")
                                             .arg(m_keysDoc->version).arg(bySigning.error().reason)});
    return bySigning;
}

bool TrustStore::signersStillTrusted(QByteArrayView manifestEnvelope) const
{
    auto parsed = parseEnvelope(manifestEnvelope);
    if (!parsed) return false;
    if (verifyEnvelope(*parsed, m_roots, 1)) return true;
    return m_keysDoc && verifyEnvelope(*parsed, m_keysDoc->keys, m_keysDoc->threshold).has_value();
}

} // namespace stoa::schedule
