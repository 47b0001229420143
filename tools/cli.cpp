// tools/cli.cpp — see cli.h.
#include "tools/cli.h"

#include "publish/duration.h"
#include "publish/site.h"

#include <QDir>
#include <QFileInfo>

#include <cstdio>

namespace stoa::cli {

void printOut(const QString &text)
{
    const QByteArray bytes = text.toLocal8Bit();
    std::fwrite(bytes.constData(), 1, static_cast<std::size_t>(bytes.size()), stdout);
    std::fflush(stdout);
}

void printErr(const QString &text)
{
    const QByteArray bytes = (QStringLiteral("stoa: ") + text + u'\n').toLocal8Bit();
    std::fwrite(bytes.constData(), 1, static_cast<std::size_t>(bytes.size()), stderr);
}

int fail(const publish::Error &error)
{
    printErr(error.message);
    switch (error.kind) {
    case publish::ErrorKind::Invalid: return kExitInvalid;
    case publish::ErrorKind::Usage: return kExitUsage;
    case publish::ErrorKind::Io: return kExitIo;
    }
    return kExitInvalid;
}

int usageError(const QString &command, const QString &message)
{
    printErr(QStringLiteral("%1: %2 (see \"stoa %1 --help\")").arg(command, message));
    return kExitUsage;
}

Command::Command(QString name, QString synopsis, QString description, QString epilog)
    : m_name(std::move(name)), m_synopsis(std::move(synopsis)), m_epilog(std::move(epilog))
{
    m_parser.setApplicationDescription(description);
    // Not addHelpOption(): its --help-all lists Qt's options, which stoa has none of.
    m_parser.addOption({{QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help.")});
}

QString Command::helpText() const
{
    // Qt's first line names argv[0]; ours names the subcommand.
    QString text = m_parser.helpText();
    const qsizetype firstBreak = text.indexOf(u'\n');
    text = QStringLiteral("Usage: stoa %1 %2").arg(m_name, m_synopsis) + text.mid(firstBreak);
    if (!m_epilog.isEmpty()) text += u'\n' + m_epilog + u'\n';
    text += QStringLiteral("\nExit codes: 0 ok, 1 verification/validation failed, 2 usage error, 3 I/O error.\n");
    return text;
}

std::optional<int> Command::parse(const QStringList &args)
{
    if (!m_parser.parse(args)) return usageError(m_name, m_parser.errorText());
    if (m_parser.isSet(QStringLiteral("help"))) {
        printOut(helpText());
        return kExitOk;
    }
    return std::nullopt;
}

std::optional<std::int64_t> Command::duration(const QString &option, int &exitCode)
{
    const QString value = m_parser.value(option);
    const auto ms = publish::parseDuration(value);
    if (!ms) exitCode = usageError(m_name, QStringLiteral("--%1 \"%2\": expected a duration like 30d, 12h, 90m").arg(option, value));
    return ms;
}

std::optional<std::int64_t> Command::integer(const QString &option, std::int64_t minimum, int &exitCode)
{
    bool ok = false;
    const QString value = m_parser.value(option);
    const qlonglong n = value.toLongLong(&ok);
    if (!ok || n < minimum) {
        exitCode = usageError(m_name, QStringLiteral("--%1 \"%2\": expected a whole number >= %3").arg(option, value).arg(minimum));
        return std::nullopt;
    }
    return n;
}

std::optional<QString> Command::required(const QString &option, int &exitCode)
{
    if (!m_parser.isSet(option) || m_parser.value(option).isEmpty()) {
        exitCode = usageError(m_name, QStringLiteral("--%1 is required").arg(option));
        return std::nullopt;
    }
    return m_parser.value(option);
}

QString resolveEnvelopePath(const QString &argument, const std::optional<QString> &deviceId)
{
    if (!QFileInfo(argument).isDir()) return argument;
    if (deviceId) {
        const QString own = publish::siteDeviceManifestPath(argument, *deviceId);
        if (QFileInfo::exists(own)) return own;
    }
    return publish::siteManifestPath(argument);
}

namespace {
int keyFailure(const schedule::Rejection &r)
{
    return fail(r.code == schedule::RejectCode::Io ? publish::ioError(r.reason) : publish::invalid(r.reason));
}
} // namespace

std::optional<schedule::PrivateKey> loadPrivateKey(const QString &path, int &exitCode)
{
    auto key = schedule::loadPrivateKeyPemFile(path);
    if (!key) {
        exitCode = keyFailure(key.error());
        return std::nullopt;
    }
    return *key;
}

std::optional<std::vector<schedule::PublicKey>> loadPublicKeys(const QString &path, int &exitCode)
{
    auto keys = schedule::loadPublicKeysPemFile(path);
    if (!keys) {
        exitCode = keyFailure(keys.error());
        return std::nullopt;
    }
    return *keys;
}

QString mainHelp()
{
    return QStringLiteral(
        "Usage: stoa <command> [options]\n"
        "\n"
        "The Stoa operator tool: keys, signed manifests and static sites (protocol v1).\n"
        "\n"
        "Commands:\n"
        "  keygen   make an Ed25519 key pair (NAME.key, NAME.pub) and print its keyid\n"
        "  publish  sign a schedule source and its media into a static site\n"
        "  keys     write the site's signing-keys document, signed by a root key\n"
        "  verify   check a manifest or keys document the way a device would\n"
        "  inspect  show what a manifest says and what plays when\n"
        "  status   describe a device's store (what it plays, space, sync state)\n"
        "  demo     publish demo content and let the sync agent adopt it, no network\n"
        "  provision take over stoa.conf / root key / token from the boot partition\n"
        "\n"
        "Options:\n"
        "  -h, --help     this text; \"stoa <command> --help\" for a command\n"
        "  -v, --version  the version\n"
        "\n"
        "Exit codes: 0 ok, 1 verification/validation failed, 2 usage error, 3 I/O error.\n"
        "Reference: docs/stoa-command.md\n");
}

} // namespace stoa::cli
