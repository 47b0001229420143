// schedule/acceptance.cpp — see acceptance.h.
#include "schedule/acceptance.h"

#include "schedule/manifest_parse.h"

#include <QLoggingCategory>

#include <algorithm>

Q_LOGGING_CATEGORY(lcSigning, "stoa.schedule.signing")

namespace stoa::schedule {

std::expected<void, Rejection> checkAcceptance(const Manifest &manifest, const AcceptanceContext &context)
{
    if (context.adoptedVersion && manifest.version <= *context.adoptedVersion)
        return std::unexpected(Rejection{RejectCode::NotNewer,
                                         QStringLiteral("version %1 is not newer than adopted %2")
                                             .arg(manifest.version).arg(*context.adoptedVersion)});
    if (!context.trustedNow.isValid() || manifest.expiresAt <= context.trustedNow)
        return std::unexpected(Rejection{RejectCode::Expired,
                                         QStringLiteral("manifest version %1 expired at %2 (trusted time is %3)")
                                             .arg(manifest.version)
                                             .arg(manifest.expiresAt.toUTC().toString(Qt::ISODate),
                                                  context.trustedNow.toUTC().toString(Qt::ISODate))});
    const std::string self = context.deviceId.toStdString();
    const bool named = std::any_of(manifest.devices.begin(), manifest.devices.end(),
                                   [&](const std::string &d) { return d == "*" || d == self; });
    if (!named)
        return std::unexpected(Rejection{RejectCode::NotForThisDevice,
                                         QStringLiteral("manifest version %1 is not addressed to device \"%2\"")
                                             .arg(manifest.version).arg(context.deviceId)});
    return checkReferences(manifest);
}

std::expected<AcceptedManifest, Rejection> acceptManifestEnvelope(QByteArrayView envelope, const TrustStore &trust,
                                                                  const AcceptanceContext &context)
{
    auto result = [&]() -> std::expected<AcceptedManifest, Rejection> {
        auto verified = trust.verifyManifestEnvelope(envelope, context.trustedNow);
        if (!verified) return std::unexpected(verified.error());
        auto manifest = parseManifest(verified->payload);
        if (!manifest) return std::unexpected(manifest.error());
        if (auto ok = checkAcceptance(*manifest, context); !ok) return std::unexpected(ok.error());
        return AcceptedManifest{std::move(*manifest), std::move(verified->payload), std::move(verified->signers)};
    }();
    if (!result) qCInfo(lcSigning).noquote() << "manifest rejected:" << result.error().reason;
    return result;
}

} // namespace stoa::schedule
