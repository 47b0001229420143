// tools/provision.cpp — see provision.h.
#include "tools/provision.h"

#include "cache/durable.h"
#include "schedule/keys.h"
#include "settings/stoa_conf.h"

#include <QFile>
#include <QString>

#include <span>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stoa::tools {

namespace fs = std::filesystem;

namespace {

struct BootFile {
    const char *name;      // on the boot partition
    const char *installAs; // under etcDir
    mode_t mode;
    bool groupReadable;    // chgrp to the service group
    // Empty when acceptable, else the reason.
    std::string (*check)(const fs::path &file);
};

std::string checkConfig(const fs::path &file)
{
    // The one reader, strict, knows every key of both processes; "no
    // server" is acceptable here (a device may be provisioned for USB or demo use).
    settings::Settings s = settings::defaults();
    const auto problems = settings::readFile(QString::fromStdString(file.string()), s, settings::Mode::Strict,
                                             settings::IfMissing::Error);
    if (!problems.empty())
        return problems.front().text();
    const auto together = settings::checkTogether(s);
    return together ? std::string() : together.error().text();
}

std::string checkKeys(const fs::path &file)
{
    auto keys = schedule::loadPublicKeysPemFile(QString::fromStdString(file.string()));
    if (!keys)
        return keys.error().reason.toStdString();
    return keys->empty() ? "no public key in the file" : std::string();
}

std::string checkToken(const fs::path &file)
{
    QFile f(QString::fromStdString(file.string()));
    if (!f.open(QIODevice::ReadOnly))
        return "cannot read: " + f.errorString().toStdString();
    const QByteArray token = f.readAll().trimmed();
    if (token.isEmpty())
        return "the token file is empty";
    if (token.contains('\n') || token.size() > 4096)
        return "a token is one line of at most 4096 bytes";
    return {};
}

std::string checkCa(const fs::path &file)
{
    auto bytes = cache::readWholeFile(file, 1 << 20);
    if (!bytes)
        return bytes.error().message;
    auto certs = schedule::countCertificatesPem(QByteArrayView(bytes->data(), static_cast<qsizetype>(bytes->size())));
    return certs ? std::string() : certs.error().reason.toStdString();
}

// stoa.conf last: an agent started meanwhile finds the trust files its
// configuration names already there (a CA missing would fail every TLS
// handshake until the next restart).
constexpr BootFile kFiles[] = {
    {"stoa-root.pub", "root.pub", 0644, false, checkKeys},
    {"stoa-token", "token", 0640, true, checkToken},
    {"stoa-ca.pem", "ca.pem", 0644, false, checkCa},
    {"stoa.conf", "stoa.conf", 0644, false, checkConfig},
};

void writeNote(const fs::path &p, const std::string &text)
{
    QFile f(QString::fromStdString(p.string()));
    if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        f.write(QByteArray::fromStdString(text + "\n"));
}

} // namespace

std::expected<ProvisionReport, std::string> provision(const ProvisionPaths &paths)
{
    ProvisionReport report;
    std::error_code ec;
    fs::create_directories(paths.etcDir, ec);
    if (ec)
        return std::unexpected(paths.etcDir.string() + ": " + ec.message());
    for (const auto &file : kFiles) {
        fs::path source;
        for (const auto &dir : paths.bootDirs)
            if (fs::is_regular_file(dir / file.name, ec)) {
                source = dir / file.name;
                break;
            }
        if (source.empty())
            continue;
        const fs::path rejected = source.string() + ".rejected";
        if (const std::string why = file.check(source); !why.empty()) {
            fs::rename(source, rejected, ec);
            writeNote(rejected.string() + ".txt", why);
            report.rejected.push_back(std::string(file.name) + ": " + why);
            continue;
        }
        auto content = cache::readWholeFile(source, 1 << 20);
        if (!content)
            return std::unexpected(source.string() + ": " + content.error().message);
        const fs::path target = paths.etcDir / file.installAs;
        if (fs::exists(target, ec) && std::string(file.name) == "stoa.conf")
            fs::copy_file(target, target.string() + ".old", fs::copy_options::overwrite_existing, ec);
        if (auto written = cache::writeFileAtomically(target, std::as_bytes(std::span(*content))); !written)
            return std::unexpected(target.string() + ": " + written.error().message);
        if (::chmod(target.c_str(), file.mode) != 0)
            return std::unexpected(target.string() + ": chmod failed");
        std::string note;
        if (file.groupReadable)
            if (const group *g = ::getgrnam(paths.group.c_str()); g && ::chown(target.c_str(), 0, g->gr_gid) != 0)
                note = " (not given to group " + paths.group + ": " + std::strerror(errno) + ")"; // not root
        fs::rename(source, source.string() + ".applied", ec);
        if (ec) // a read-only boot partition: taken again next boot, which is idempotent
            report.applied.push_back(std::string(file.name) + " -> " + target.string() +
                                     " (could not rename the original: " + ec.message() + ")");
        else
            report.applied.push_back(std::string(file.name) + " -> " + target.string() + note);
    }
    return report;
}

} // namespace stoa::tools
