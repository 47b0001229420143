// publish/keys_document.cpp — see keys_document.h.
#include "publish/keys_document.h"

#include "schedule/encoding.h"
#include "schedule/envelope.h"
#include "schedule/trust_store.h"
#include "publish/site.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QTimeZone>

#include <algorithm>
#include <array>

Q_LOGGING_CATEGORY(lcKeysDoc, "stoa.publish.keys")

namespace stoa::publish {

std::expected<KeysResult, Error> writeKeysDocument(const KeysOptions &options, const schedule::PrivateKey &root)
{
    const QString path = siteKeysPath(options.site);
    std::vector<schedule::PublicKey> keys;
    std::optional<std::int64_t> existingVersion;
    std::optional<int> existingThreshold;
    if (QFileInfo::exists(path)) {
        auto version = unverifiedVersion(path, schedule::kKeysPayloadType);
        if (!version) return std::unexpected(version.error());
        existingVersion = *version;
        if (!options.replace) {
            auto bytes = readEnvelopeFile(path);
            if (!bytes) return std::unexpected(bytes.error());
            const std::array<schedule::PublicKey, 1> roots{root.publicKey()};
            auto verified = schedule::verifyEnvelope(*bytes, schedule::kKeysPayloadType, roots);
            if (!verified)
                return std::unexpected(invalid(QStringLiteral("existing %1 does not verify with this root key (%2); "
                                                              "use --replace to start a new key set").arg(path, verified.error().reason)));
            auto doc = schedule::parseKeysDocument(verified->payload);
            if (!doc) return std::unexpected(invalid(QStringLiteral("existing %1: %2").arg(path, doc.error().reason)));
            keys = doc->keys;
            existingThreshold = doc->threshold;
        }
    }
    for (const auto &k : options.add) {
        const bool present = std::any_of(keys.begin(), keys.end(), [&](const auto &e) { return e.keyId() == k.keyId(); });
        if (!present) keys.push_back(k);
    }
    for (const std::string &id : options.revoke) {
        const auto it = std::remove_if(keys.begin(), keys.end(), [&](const auto &e) { return e.keyId() == id; });
        if (it == keys.end())
            return std::unexpected(usage(QStringLiteral("--revoke %1: no such key in the key set").arg(QString::fromStdString(id))));
        keys.erase(it, keys.end());
    }
    if (keys.empty())
        return std::unexpected(usage(QStringLiteral("the key set would be empty: give at least one --add PUB")));

    KeysResult result;
    result.path = path;
    result.version = std::max<std::int64_t>({existingVersion.value_or(0) + 1, options.minVersion.value_or(1), 1});
    const int count = static_cast<int>(keys.size());
    result.threshold = options.threshold.value_or(existingThreshold && *existingThreshold <= count ? *existingThreshold : 1);
    if (result.threshold < 1 || result.threshold > count)
        return std::unexpected(usage(QStringLiteral("--threshold %1: must be between 1 and the number of keys (%2)")
                                         .arg(result.threshold).arg(count)));
    const QDateTime now = options.now.isValid() ? options.now : QDateTime::currentDateTimeUtc();
    const QDateTime issuedAt = QDateTime::fromSecsSinceEpoch(now.toSecsSinceEpoch(), Qt::UTC);
    result.expiresAt = issuedAt.addMSecs(options.expiresInMs);

    QJsonArray keysJson;
    for (const auto &k : keys) {
        keysJson.append(QJsonObject{{QStringLiteral("keyid"), QString::fromStdString(k.keyId())},
                                    {QStringLiteral("public_key"), QString::fromLatin1(schedule::encodeBase64(k.raw()))}});
        result.keyIds.push_back(k.keyId());
    }
    // issued_at is Stoa's addition (docs/protocol.md): devices may raise their time floor with it.
    QJsonObject doc{{QStringLiteral("version"), static_cast<qint64>(result.version)},
                    {QStringLiteral("issued_at"), issuedAt.toString(Qt::ISODate)},
                    {QStringLiteral("expires_at"), result.expiresAt.toString(Qt::ISODate)},
                    {QStringLiteral("threshold"), result.threshold},
                    {QStringLiteral("keys"), keysJson}};
    if (options.manifestVersionFloor) {
        if (*options.manifestVersionFloor < 0)
            return std::unexpected(usage(QStringLiteral("--manifest-version-floor must be 0 or more")));
        doc.insert(QStringLiteral("manifest_version_floor"), static_cast<qint64>(*options.manifestVersionFloor));
        result.manifestVersionFloor = options.manifestVersionFloor;
    }
    const QByteArray payload = QJsonDocument(doc).toJson(QJsonDocument::Indented);
    if (auto parsed = schedule::parseKeysDocument(payload); !parsed)
        return std::unexpected(invalid(QStringLiteral("internal: the generated keys document would be rejected: %1").arg(parsed.error().reason)));

    const std::array<schedule::PrivateKey, 1> signers{root};
    auto envelope = schedule::signEnvelope(schedule::kKeysPayloadType, payload, signers);
    if (!envelope) return std::unexpected(invalid(QStringLiteral("signing failed: %1").arg(envelope.error().reason)));
    const std::array<schedule::PublicKey, 1> roots{root.publicKey()};
    if (auto check = schedule::verifyEnvelope(*envelope, schedule::kKeysPayloadType, roots); !check)
        return std::unexpected(invalid(QStringLiteral("internal: own signature does not verify: %1").arg(check.error().reason)));
    if (auto ok = writeFileAtomically(path, *envelope); !ok) return std::unexpected(ok.error());
    qCInfo(lcKeysDoc) << "wrote keys document version" << result.version << "with" << count << "keys";
    return result;
}

} // namespace stoa::publish
