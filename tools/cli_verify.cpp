// tools/cli_verify.cpp — `stoa verify`: options -> verifyDocument() (verify.h).
#include "tools/cli.h"

#include "tools/inspect.h"
#include "publish/schedule_source.h"
#include "publish/site.h"
#include "tools/verify.h"

#include <QDir>
#include <QFileInfo>

namespace stoa::cli {

int runVerify(const QStringList &args)
{
    Command cmd(QStringLiteral("verify"), QStringLiteral("--trusted-keys PEM ENVELOPE [options]"),
                QStringLiteral("Check a manifest or keys document exactly as a device would: signature by\n"
                               "the trusted root keys (or by a signing key of --keys-doc), payload rules,\n"
                               "expiry at --at (default now) and, with --device-id, the audience.\n"
                               "ENVELOPE is a file or a SITE directory (then its manifest, the device's own\n"
                               "with --device-id, and SITE/v1/keys.json unless --keys-doc is given).\n"
                               "Prints a summary and exits 0 when valid; the reason on stderr and exit 1 when not."),
                QStringLiteral("Example:\n  stoa verify --trusted-keys root.pub /srv/stoa/v1/manifest.json"));
    auto &p = cmd.parser();
    p.addPositionalArgument(QStringLiteral("ENVELOPE"), QStringLiteral("Envelope file or site directory."));
    p.addOption({QStringLiteral("trusted-keys"), QStringLiteral("PEM file with one or more root public keys."), QStringLiteral("PEM")});
    p.addOption({QStringLiteral("keys-doc"), QStringLiteral("Signing-keys envelope to adopt first."), QStringLiteral("KEYS_ENVELOPE")});
    p.addOption({QStringLiteral("device-id"), QStringLiteral("Check the audience for this device."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("at"), QStringLiteral("Trusted time for expiry checks, RFC 3339 (default now)."), QStringLiteral("TIME")});
    if (auto done = cmd.parse(args)) return *done;
    if (p.positionalArguments().size() != 1)
        return usageError(cmd.name(), QStringLiteral("expected exactly one ENVELOPE argument"));
    int exit = kExitOk;
    const auto trustedPath = cmd.required(QStringLiteral("trusted-keys"), exit);
    if (!trustedPath) return exit;

    tools::VerifyRequest request;
    if (p.isSet(QStringLiteral("device-id"))) {
        request.deviceId = p.value(QStringLiteral("device-id"));
        if (!publish::isValidDeviceId(*request.deviceId))
            return usageError(cmd.name(), QStringLiteral("--device-id \"%1\" is not a device id").arg(*request.deviceId));
    }
    request.at = QDateTime::currentDateTimeUtc();
    if (p.isSet(QStringLiteral("at"))) {
        const auto at = tools::parseTimeArgument(p.value(QStringLiteral("at")), std::nullopt);
        if (!at) return usageError(cmd.name(), QStringLiteral("--at \"%1\": expected RFC 3339, e.g. 2026-11-23T10:00:00Z").arg(p.value(QStringLiteral("at"))));
        request.at = *at;
    }
    const auto roots = loadPublicKeys(*trustedPath, exit);
    if (!roots) return exit;
    request.roots = *roots;

    const QString argument = p.positionalArguments().front();
    const QString path = resolveEnvelopePath(argument, request.deviceId);
    auto bytes = publish::readEnvelopeFile(path);
    if (!bytes) return fail(bytes.error());
    request.envelope = *bytes;
    QString keysPath = p.value(QStringLiteral("keys-doc"));
    if (keysPath.isEmpty() && QFileInfo(argument).isDir() && QFileInfo::exists(publish::siteKeysPath(argument)))
        keysPath = publish::siteKeysPath(argument);
    if (!keysPath.isEmpty()) {
        auto keys = publish::readEnvelopeFile(keysPath);
        if (!keys) return fail(keys.error());
        request.keysEnvelope = *keys;
    }

    auto summary = tools::verifyDocument(request);
    if (!summary) return fail(publish::invalid(QStringLiteral("%1: not valid: %2").arg(path, summary.error().message)));
    printOut(QStringLiteral("%1\nfile: %2\n").arg(tools::formatVerifySummary(*summary), path));
    return kExitOk;
}

} // namespace stoa::cli
