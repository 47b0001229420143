// tools/verify.cpp — see verify.h.
#include "tools/verify.h"

#include "schedule/acceptance.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "schedule/trust_store.h"

#include <QStringList>

namespace stoa::tools {

namespace {
publish::Error rejected(const schedule::Rejection &r, const QString &what = {})
{
    return publish::invalid(what.isEmpty() ? r.reason : what + QStringLiteral(": ") + r.reason);
}

QString ids(const std::vector<std::string> &keyIds)
{
    QStringList out;
    for (const auto &k : keyIds) out << QString::fromStdString(k);
    return out.join(QLatin1String(", "));
}
} // namespace

std::expected<VerifySummary, publish::Error> verifyDocument(const VerifyRequest &request)
{
    auto envelope = schedule::parseEnvelope(request.envelope);
    if (!envelope) return std::unexpected(rejected(envelope.error()));
    schedule::TrustStore trust(request.roots);
    VerifySummary s;
    s.payloadType = QString::fromUtf8(envelope->payloadType);

    if (envelope->payloadType == schedule::kKeysPayloadType) {
        s.isManifest = false;
        auto doc = trust.checkKeysEnvelope(request.envelope, request.at);
        if (!doc) return std::unexpected(rejected(doc.error()));
        auto verified = schedule::verifyEnvelope(*envelope, request.roots);
        if (!verified) return std::unexpected(rejected(verified.error()));
        s.version = doc->version;
        s.signers = verified->signers;
        s.expiresAt = doc->expiresAt;
        s.threshold = doc->threshold;
        for (const auto &k : doc->keys) s.keyIds.push_back(k.keyId());
        s.manifestVersionFloor = doc->manifestVersionFloor;
        return s;
    }

    if (request.keysEnvelope) {
        auto doc = trust.adoptKeysEnvelope(*request.keysEnvelope, request.at);
        if (!doc) return std::unexpected(rejected(doc.error(), QStringLiteral("keys document")));
        s.keysDocVersion = doc->version;
    }
    auto verified = trust.verifyManifestEnvelope(request.envelope, request.at);
    if (!verified) return std::unexpected(rejected(verified.error()));
    auto manifest = schedule::parseManifest(verified->payload);
    if (!manifest) return std::unexpected(rejected(manifest.error()));
    schedule::AcceptanceContext context;
    context.trustedNow = request.at;
    // Without --device-id the audience check is skipped: ask as a device the
    // manifest names (every manifest names at least one, the parser ensures).
    context.deviceId = request.deviceId.value_or(QString::fromStdString(manifest->devices.front()));
    if (auto ok = schedule::checkAcceptance(*manifest, context); !ok) return std::unexpected(rejected(ok.error()));
    s.version = manifest->version;
    s.signers = verified->signers;
    s.issuedAt = manifest->issuedAt;
    s.expiresAt = manifest->expiresAt;
    for (const auto &d : manifest->devices) s.audience << QString::fromStdString(d);
    return s;
}

QString formatVerifySummary(const VerifySummary &s)
{
    QStringList lines;
    lines << QStringLiteral("valid: %1 (%2)").arg(s.isManifest ? QStringLiteral("manifest") : QStringLiteral("keys document"), s.payloadType);
    lines << QStringLiteral("version: %1").arg(s.version);
    lines << QStringLiteral("signed by: %1").arg(ids(s.signers));
    if (s.keysDocVersion) lines << QStringLiteral("keys document: version %1 in force").arg(*s.keysDocVersion);
    if (s.issuedAt) lines << QStringLiteral("issued: %1").arg(s.issuedAt->toUTC().toString(Qt::ISODate));
    lines << QStringLiteral("expires: %1").arg(s.expiresAt.toUTC().toString(Qt::ISODate));
    if (s.isManifest) {
        lines << QStringLiteral("audience: %1").arg(s.audience.join(QLatin1String(", ")));
    } else {
        lines << QStringLiteral("threshold: %1").arg(s.threshold);
        lines << QStringLiteral("keys: %1").arg(ids(s.keyIds));
        if (s.manifestVersionFloor)
            lines << QStringLiteral("manifest version floor: %1").arg(*s.manifestVersionFloor);
    }
    return lines.join(u'\n');
}

} // namespace stoa::tools
