// tools/cli_publish.cpp — `stoa publish`: options -> publishSite() (publish.h).
#include "tools/cli.h"

#include "publish/duration.h"
#include "publish/publish.h"

namespace stoa::cli {

int runPublish(const QStringList &args)
{
    Command cmd(QStringLiteral("publish"), QStringLiteral("--key K --source DIR --out SITE [options]"),
                QStringLiteral("Sign the schedule in DIR/schedule.ini (or the file given) and the media it names\n"
                               "into the static site SITE (protocol v1 layout): SITE/v1/blobs/sha256/<hex> and\n"
                               "SITE/v1/manifest.json, or SITE/v1/devices/<id>/manifest.json with --device.\n"
                               "The version is one more than the highest manifest already in SITE.\n"
                               "Existing blobs are not rewritten; old ones stay unless --prune."),
                QStringLiteral("Example:\n  stoa publish --key signing.key --source docs/examples/lobby --out /srv/stoa"));
    auto &p = cmd.parser();
    p.addOption({QStringLiteral("key"), QStringLiteral("Private key (PEM PKCS#8) to sign with."), QStringLiteral("K")});
    p.addOption({QStringLiteral("source"), QStringLiteral("Directory holding schedule.ini and its media, or the schedule file."), QStringLiteral("DIR")});
    p.addOption({QStringLiteral("out"), QStringLiteral("Site root to write (created if missing)."), QStringLiteral("SITE")});
    p.addOption({QStringLiteral("device"), QStringLiteral("Write a per-device manifest for ID instead of the fleet one (repeatable)."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("expires-in"), QStringLiteral("Manifest lifetime from now (default 30d)."), QStringLiteral("DURATION"), QStringLiteral("30d")});
    p.addOption({QStringLiteral("version"), QStringLiteral("At least this version (default: highest in SITE + 1)."), QStringLiteral("N")});
    p.addOption({QStringLiteral("prune"), QStringLiteral("Remove blobs that no manifest in SITE references.")});
    if (auto done = cmd.parse(args)) return *done;
    if (!p.positionalArguments().isEmpty())
        return usageError(cmd.name(), QStringLiteral("unexpected argument \"%1\"").arg(p.positionalArguments().front()));

    int exit = kExitOk;
    const auto keyPath = cmd.required(QStringLiteral("key"), exit);
    if (!keyPath) return exit;
    const auto source = cmd.required(QStringLiteral("source"), exit);
    if (!source) return exit;
    const auto site = cmd.required(QStringLiteral("out"), exit);
    if (!site) return exit;
    publish::PublishOptions options;
    options.source = *source;
    options.site = *site;
    options.devices = p.values(QStringLiteral("device"));
    options.prune = p.isSet(QStringLiteral("prune"));
    const auto expires = cmd.duration(QStringLiteral("expires-in"), exit);
    if (!expires) return exit;
    options.expiresInMs = *expires;
    if (p.isSet(QStringLiteral("version"))) {
        options.minVersion = cmd.integer(QStringLiteral("version"), 0, exit);
        if (!options.minVersion) return exit;
    }
    const auto key = loadPrivateKey(*keyPath, exit);
    if (!key) return exit;

    auto result = publish::publishSite(options, *key);
    if (!result) return fail(result.error());
    QString text = QStringLiteral("published version %1, signed by %2\n").arg(result->version).arg(QString::fromStdString(result->keyId));
    text += QStringLiteral("issued %1, expires %2\n").arg(result->issuedAt.toString(Qt::ISODate), result->expiresAt.toString(Qt::ISODate));
    text += QStringLiteral("blobs: %1 written, %2 already present\n").arg(result->blobsWritten).arg(result->blobsReused);
    for (const QString &m : result->manifests) text += QStringLiteral("wrote %1\n").arg(m);
    if (options.prune) text += QStringLiteral("pruned %1 blob file(s)\n").arg(result->pruned.size());
    if (options.minVersion && result->version > *options.minVersion)
        text += QStringLiteral("note: --version %1 raised to %2 (versions must grow)\n").arg(*options.minVersion).arg(result->version);
    printOut(text);
    return kExitOk;
}

} // namespace stoa::cli
