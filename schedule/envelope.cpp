// schedule/envelope.cpp — see envelope.h. Order of checks is deliberate:
// size, then JSON shape, then payload type, then signatures; the payload's
// own content is never looked at here.
#include "schedule/envelope.h"

#include "schedule/encoding.h"
#include "schedule/strict_json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <map>
#include <set>

namespace stoa::schedule {
namespace {

Rejection malformed(const QString &reason)
{
    return Rejection{RejectCode::MalformedEnvelope, QStringLiteral("malformed envelope: ") + reason};
}

bool isV1Type(QByteArrayView type)
{
    return type == QByteArrayView(kManifestPayloadType) || type == QByteArrayView(kKeysPayloadType);
}

} // namespace

std::expected<Envelope, Rejection> parseEnvelope(QByteArrayView json)
{
    if (json.size() > kMaxEnvelopeBytes)
        return std::unexpected(Rejection{RejectCode::Oversize,
                                         QStringLiteral("envelope is %1 bytes, the limit is %2")
                                             .arg(json.size()).arg(kMaxEnvelopeBytes)});
    auto object = parseStrictJsonObject(json);
    if (!object) return std::unexpected(malformed(object.error()));

    const QJsonValue type = object->value(QLatin1String("payloadType"));
    const QJsonValue payload = object->value(QLatin1String("payload"));
    const QJsonValue signatures = object->value(QLatin1String("signatures"));
    if (!type.isString()) return std::unexpected(malformed(QStringLiteral("\"payloadType\" must be a string")));
    if (!payload.isString()) return std::unexpected(malformed(QStringLiteral("\"payload\" must be a string")));
    if (!signatures.isArray()) return std::unexpected(malformed(QStringLiteral("\"signatures\" must be an array")));

    Envelope envelope;
    envelope.payloadType = type.toString().toUtf8();
    if (!isV1Type(envelope.payloadType))
        return std::unexpected(Rejection{RejectCode::UnsupportedPayloadType,
                                         QStringLiteral("unsupported payload type \"%1\"").arg(type.toString())});

    auto body = decodeBase64(payload.toString().toLatin1());
    if (!body) return std::unexpected(malformed(QStringLiteral("\"payload\" is not valid base64")));
    envelope.payload = std::move(*body);

    const QJsonArray sigs = signatures.toArray();
    for (qsizetype i = 0; i < sigs.size(); ++i) {
        const QJsonValue entry = sigs.at(i);
        if (!entry.isObject())
            return std::unexpected(malformed(QStringLiteral("signature %1 is not an object").arg(i)));
        const QJsonObject o = entry.toObject();
        const QJsonValue keyid = o.value(QLatin1String("keyid"));
        const QJsonValue sig = o.value(QLatin1String("sig"));
        if (!keyid.isUndefined() && !keyid.isString())
            return std::unexpected(malformed(QStringLiteral("signature %1: \"keyid\" must be a string").arg(i)));
        if (!sig.isString())
            return std::unexpected(malformed(QStringLiteral("signature %1: \"sig\" must be a string").arg(i)));
        auto sigBytes = decodeBase64(sig.toString().toLatin1());
        if (!sigBytes)
            return std::unexpected(malformed(QStringLiteral("signature %1: \"sig\" is not valid base64").arg(i)));
        envelope.signatures.push_back(EnvelopeSignature{keyid.toString().toStdString(), std::move(*sigBytes)});
    }
    return envelope;
}

std::expected<VerifiedPayload, Rejection> verifyEnvelope(const Envelope &envelope,
                                                         std::span<const PublicKey> trusted, int threshold)
{
    if (!isV1Type(envelope.payloadType))
        return std::unexpected(Rejection{RejectCode::UnsupportedPayloadType,
                                         QStringLiteral("unsupported payload type \"%1\"")
                                             .arg(QString::fromUtf8(envelope.payloadType))});
    std::map<std::string, const PublicKey *> byId;
    for (const PublicKey &key : trusted) byId.emplace(key.keyId(), &key);

    const QByteArray message = pae(envelope.payloadType, envelope.payload);
    std::set<std::string> signers;
    std::size_t known = 0;
    for (const EnvelopeSignature &s : envelope.signatures) {
        const auto it = byId.find(s.keyId);
        if (it == byId.end()) continue; // unknown keyids are ignored (§2)
        ++known;
        if (signers.contains(s.keyId)) continue; // a repeat never counts twice
        if (it->second->verify(message, s.sig)) signers.insert(s.keyId);
    }
    const int need = std::max(threshold, 1);
    if (signers.size() < std::size_t(need)) {
        QString reason;
        if (known == 0)
            reason = QStringLiteral("no signature by a trusted key (%1 signature(s), none with a trusted keyid)")
                         .arg(envelope.signatures.size());
        else
            reason = QStringLiteral("%1 valid signature(s) by distinct trusted keys, %2 required")
                         .arg(signers.size()).arg(need);
        return std::unexpected(Rejection{RejectCode::NotSigned, reason});
    }
    return VerifiedPayload{envelope.payloadType, envelope.payload, {signers.begin(), signers.end()}};
}

std::expected<VerifiedPayload, Rejection> verifyEnvelope(QByteArrayView json, QByteArrayView expectedType,
                                                         std::span<const PublicKey> trusted, int threshold)
{
    auto envelope = parseEnvelope(json);
    if (!envelope) return std::unexpected(envelope.error());
    if (envelope->payloadType != expectedType)
        return std::unexpected(Rejection{RejectCode::WrongPayloadType,
                                         QStringLiteral("payload type is \"%1\", expected \"%2\"")
                                             .arg(QString::fromUtf8(envelope->payloadType),
                                                  QString::fromUtf8(expectedType))});
    return verifyEnvelope(*envelope, trusted, threshold);
}

std::expected<QByteArray, Rejection> signEnvelope(QByteArrayView payloadType, QByteArrayView payload,
                                                  std::span<const PrivateKey> keys)
{
    if (!isV1Type(payloadType))
        return std::unexpected(Rejection{RejectCode::UnsupportedPayloadType,
                                         QStringLiteral("unsupported payload type \"%1\"")
                                             .arg(QString::fromUtf8(payloadType))});
    if (keys.empty())
        return std::unexpected(Rejection{RejectCode::BadKey, QStringLiteral("no signing key given")});
    Envelope envelope{payloadType.toByteArray(), payload.toByteArray(), {}};
    const QByteArray message = pae(payloadType, payload);
    for (const PrivateKey &key : keys) {
        auto sig = key.sign(message);
        if (!sig) return std::unexpected(sig.error());
        envelope.signatures.push_back(EnvelopeSignature{key.publicKey().keyId(), std::move(*sig)});
    }
    return serializeEnvelope(envelope);
}

QByteArray serializeEnvelope(const Envelope &envelope)
{
    QJsonArray sigs;
    for (const EnvelopeSignature &s : envelope.signatures) {
        sigs.append(QJsonObject{{QStringLiteral("keyid"), QString::fromStdString(s.keyId)},
                                {QStringLiteral("sig"), QString::fromLatin1(encodeBase64(s.sig))}});
    }
    const QJsonObject o{{QStringLiteral("payloadType"), QString::fromUtf8(envelope.payloadType)},
                        {QStringLiteral("payload"), QString::fromLatin1(encodeBase64(envelope.payload))},
                        {QStringLiteral("signatures"), sigs}};
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

} // namespace stoa::schedule
