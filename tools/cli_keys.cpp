// tools/cli_keys.cpp — `stoa keys`: options -> writeKeysDocument() (keys_document.h).
#include "tools/cli.h"

#include "schedule/digest.h"
#include "publish/keys_document.h"

#include <QFileInfo>

namespace stoa::cli {

int runKeys(const QStringList &args)
{
    Command cmd(QStringLiteral("keys"), QStringLiteral("--root-key K --add PUB [--add PUB ...] --out SITE [options]"),
                QStringLiteral("Write SITE/v1/keys.json: the signing-keys document (protocol v1 section 4),\n"
                               "signed by the root key. The key set is the existing document's keys (when it\n"
                               "verifies with this root) plus --add minus --revoke; --replace starts empty.\n"
                               "The version is one more than the existing document's.\n"
                               "After a signing key was stolen and used to publish a huge manifest version,\n"
                               "revoke it and give --manifest-version-floor N (protocol v1.1 section 11):\n"
                               "devices then accept manifests above N again; the one on screen keeps\n"
                               "playing until then. Publish the next manifest with a version above N."),
                QStringLiteral("Example:\n  stoa keys --root-key root.key --add signing.pub --out /srv/stoa\n"
                               "  stoa keys --root-key root.key --add new.pub --revoke signing.pub --out /srv/stoa\n"
                               "  stoa keys --root-key root.key --add new.pub --revoke stolen.pub --manifest-version-floor 41 --out /srv/stoa"));
    auto &p = cmd.parser();
    p.addOption({QStringLiteral("root-key"), QStringLiteral("Root private key (PEM PKCS#8) to sign with."), QStringLiteral("K")});
    p.addOption({QStringLiteral("add"), QStringLiteral("PEM file with signing public key(s) to list (repeatable)."), QStringLiteral("PUB")});
    p.addOption({QStringLiteral("revoke"), QStringLiteral("Drop a key: its keyid or its PEM file (repeatable)."), QStringLiteral("KEY")});
    p.addOption({QStringLiteral("replace"), QStringLiteral("Ignore the keys of the existing document.")});
    p.addOption({QStringLiteral("out"), QStringLiteral("Site root."), QStringLiteral("SITE")});
    p.addOption({QStringLiteral("threshold"), QStringLiteral("Signatures a manifest needs (default 1)."), QStringLiteral("N")});
    p.addOption({QStringLiteral("expires-in"), QStringLiteral("Document lifetime from now (default 365d)."), QStringLiteral("DURATION"), QStringLiteral("365d")});
    p.addOption({QStringLiteral("version"), QStringLiteral("At least this version."), QStringLiteral("N")});
    p.addOption({QStringLiteral("manifest-version-floor"),
                 QStringLiteral("Devices lower their highest adopted manifest version to N (fast-forward recovery)."),
                 QStringLiteral("N")});
    if (auto done = cmd.parse(args)) return *done;
    if (!p.positionalArguments().isEmpty())
        return usageError(cmd.name(), QStringLiteral("unexpected argument \"%1\"").arg(p.positionalArguments().front()));

    int exit = kExitOk;
    const auto rootPath = cmd.required(QStringLiteral("root-key"), exit);
    if (!rootPath) return exit;
    const auto site = cmd.required(QStringLiteral("out"), exit);
    if (!site) return exit;
    publish::KeysOptions options;
    options.site = *site;
    options.replace = p.isSet(QStringLiteral("replace"));
    const auto expires = cmd.duration(QStringLiteral("expires-in"), exit);
    if (!expires) return exit;
    options.expiresInMs = *expires;
    if (p.isSet(QStringLiteral("threshold"))) {
        const auto t = cmd.integer(QStringLiteral("threshold"), 1, exit);
        if (!t) return exit;
        options.threshold = static_cast<int>(std::min<std::int64_t>(*t, 1 << 20));
    }
    if (p.isSet(QStringLiteral("version"))) {
        options.minVersion = cmd.integer(QStringLiteral("version"), 0, exit);
        if (!options.minVersion) return exit;
    }
    if (p.isSet(QStringLiteral("manifest-version-floor"))) {
        options.manifestVersionFloor = cmd.integer(QStringLiteral("manifest-version-floor"), 0, exit);
        if (!options.manifestVersionFloor) return exit;
    }
    for (const QString &path : p.values(QStringLiteral("add"))) {
        const auto keys = loadPublicKeys(path, exit);
        if (!keys) return exit;
        options.add.insert(options.add.end(), keys->begin(), keys->end());
    }
    for (const QString &value : p.values(QStringLiteral("revoke"))) {
        if (schedule::Digest::fromHex(value.toStdString())) {
            options.revoke.push_back(value.toStdString());
            continue;
        }
        if (!QFileInfo(value).isFile())
            return usageError(cmd.name(), QStringLiteral("--revoke \"%1\": neither a keyid (64 lowercase hex) nor a PEM file").arg(value));
        const auto keys = loadPublicKeys(value, exit);
        if (!keys) return exit;
        for (const auto &k : *keys) options.revoke.push_back(k.keyId());
    }
    const auto root = loadPrivateKey(*rootPath, exit);
    if (!root) return exit;

    auto result = publish::writeKeysDocument(options, *root);
    if (!result) return fail(result.error());
    QString text = QStringLiteral("wrote %1: version %2, threshold %3, expires %4, signed by root %5\n")
                       .arg(result->path).arg(result->version).arg(result->threshold)
                       .arg(result->expiresAt.toString(Qt::ISODate), QString::fromStdString(root->publicKey().keyId()));
    for (const auto &id : result->keyIds) text += QStringLiteral("  key %1\n").arg(QString::fromStdString(id));
    if (result->manifestVersionFloor)
        text += QStringLiteral("manifest version floor %1: devices that adopt this document accept manifests above it "
                               "again; publish the next one with --version %2 or more\n")
                    .arg(*result->manifestVersionFloor).arg(*result->manifestVersionFloor + 1);
    printOut(text);
    return kExitOk;
}

} // namespace stoa::cli
