// tools/cli_inspect.cpp — `stoa inspect`: options -> inspectEnvelope() (inspect.h).
#include "tools/cli.h"

#include "tools/inspect.h"
#include "publish/site.h"

namespace stoa::cli {

int runInspect(const QStringList &args)
{
    Command cmd(QStringLiteral("inspect"), QStringLiteral("ENVELOPE [--at TIME | --days N [--from TIME]] [options]"),
                QStringLiteral("Show what a manifest (or keys document) says and what plays when. Signatures\n"
                               "are checked only with --trusted-keys; the output says which.\n"
                               "With --at: what plays at TIME, until when, and what follows. Without: a\n"
                               "timeline of every change over the next N days (default 7).\n"
                               "TIME is RFC 3339 (2026-11-23T07:00:00Z) or a local time in the manifest's\n"
                               "time zone (2026-11-23T07:00 or \"2026-11-23 07:00\").\n"
                               "ENVELOPE is a file or a SITE directory (its fleet manifest, or the device's\n"
                               "own with --device-id)."),
                QStringLiteral("Example:\n  stoa inspect /srv/stoa --at \"2026-11-23 07:30\""));
    auto &p = cmd.parser();
    p.addPositionalArgument(QStringLiteral("ENVELOPE"), QStringLiteral("Envelope file or site directory."));
    p.addOption({QStringLiteral("at"), QStringLiteral("What plays at this time."), QStringLiteral("TIME")});
    p.addOption({QStringLiteral("days"), QStringLiteral("Timeline length in days (default 7)."), QStringLiteral("N"), QStringLiteral("7")});
    p.addOption({QStringLiteral("from"), QStringLiteral("Timeline start (default now)."), QStringLiteral("TIME")});
    p.addOption({QStringLiteral("trusted-keys"), QStringLiteral("Check signatures against these public keys."), QStringLiteral("PEM")});
    p.addOption({QStringLiteral("device-id"), QStringLiteral("With a SITE directory: this device's manifest."), QStringLiteral("ID")});
    if (auto done = cmd.parse(args)) return *done;
    if (p.positionalArguments().size() != 1)
        return usageError(cmd.name(), QStringLiteral("expected exactly one ENVELOPE argument"));
    if (p.isSet(QStringLiteral("at")) && (p.isSet(QStringLiteral("days")) || p.isSet(QStringLiteral("from"))))
        return usageError(cmd.name(), QStringLiteral("--at and --days/--from exclude each other"));

    int exit = kExitOk;
    tools::InspectOptions options;
    if (p.isSet(QStringLiteral("at"))) options.at = p.value(QStringLiteral("at"));
    const auto days = cmd.integer(QStringLiteral("days"), 1, exit);
    if (!days) return exit;
    if (*days > 3660) return usageError(cmd.name(), QStringLiteral("--days: at most 3660"));
    options.days = static_cast<int>(*days);
    if (p.isSet(QStringLiteral("from"))) {
        const auto from = tools::parseTimeArgument(p.value(QStringLiteral("from")), std::nullopt);
        if (!from) return usageError(cmd.name(), QStringLiteral("--from \"%1\": expected RFC 3339, e.g. 2026-11-23T00:00:00Z").arg(p.value(QStringLiteral("from"))));
        options.from = *from;
    }
    if (p.isSet(QStringLiteral("trusted-keys"))) {
        options.trusted = loadPublicKeys(p.value(QStringLiteral("trusted-keys")), exit);
        if (!options.trusted) return exit;
    }
    std::optional<QString> deviceId;
    if (p.isSet(QStringLiteral("device-id"))) deviceId = p.value(QStringLiteral("device-id"));
    const QString path = resolveEnvelopePath(p.positionalArguments().front(), deviceId);
    auto bytes = publish::readEnvelopeFile(path);
    if (!bytes) return fail(bytes.error());
    auto report = tools::inspectEnvelope(*bytes, options);
    if (!report) return fail(report.error());
    printOut(QStringLiteral("file: %1\n").arg(path) + *report);
    return kExitOk;
}

} // namespace stoa::cli
