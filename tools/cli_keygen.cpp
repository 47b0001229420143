// tools/cli_keygen.cpp — `stoa keygen --out NAME`: a new Ed25519 key pair.
// Invariant: never overwrites (writeKeyPairPem refuses existing files);
// NAME.key is 0600.
#include "tools/cli.h"

#include "schedule/keys.h"

namespace stoa::cli {

int runKeygen(const QStringList &args)
{
    Command cmd(QStringLiteral("keygen"), QStringLiteral("--out NAME"),
                QStringLiteral("Make an Ed25519 key pair: NAME.key (PEM PRIVATE KEY, PKCS#8, mode 0600)\n"
                               "and NAME.pub (PEM PUBLIC KEY), and print the keyid (SHA-256 of the raw\n"
                               "public key). Refuses to overwrite existing files."),
                QStringLiteral("Example:\n  stoa keygen --out root      # keep root.key offline\n"
                               "  stoa keygen --out signing   # the online signing key"));
    cmd.parser().addOption({QStringLiteral("out"), QStringLiteral("Path prefix of the two files."), QStringLiteral("NAME")});
    if (auto done = cmd.parse(args)) return *done;
    int exit = kExitOk;
    const auto name = cmd.required(QStringLiteral("out"), exit);
    if (!name) return exit;
    if (!cmd.parser().positionalArguments().isEmpty())
        return usageError(cmd.name(), QStringLiteral("unexpected argument \"%1\"").arg(cmd.parser().positionalArguments().front()));

    auto key = schedule::PrivateKey::generate();
    if (!key) return fail(publish::invalid(key.error().reason));
    const QString priv = *name + QStringLiteral(".key"), pub = *name + QStringLiteral(".pub");
    if (auto ok = schedule::writeKeyPairPem(*key, priv, pub); !ok)
        return fail(ok.error().code == schedule::RejectCode::Io ? publish::ioError(ok.error().reason) : publish::invalid(ok.error().reason));
    printOut(QStringLiteral("wrote %1 (private, keep it secret) and %2\nkeyid %3\n")
                 .arg(priv, pub, QString::fromStdString(key->publicKey().keyId())));
    return kExitOk;
}

} // namespace stoa::cli
