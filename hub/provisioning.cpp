// hub/provisioning.cpp — the provisioning bundle (provisioning.h): checks,
// the stoa.conf text, and the temp + fsync + rename writes.
#include "hub/provisioning.h"

#include "schedule/identifiers.h"
#include "schedule/keys.h"
#include "settings/keys.h"

#include <QByteArrayView>
#include <QDateTime>
#include <QString>
#include <QUrl>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace stoa::hub {

namespace fs = std::filesystem;

namespace {

constexpr const char *kConf = "stoa.conf";
constexpr const char *kToken = "stoa-token";
constexpr const char *kRootKey = "stoa-root.pub";
constexpr const char *kCa = "stoa-ca.pem";
constexpr const char *kPublicUrl = "public-url"; // in the hub's data directory
constexpr long kFatMagic = 0x4d44; // MSDOS_SUPER_MAGIC: vfat/msdos, what boot partitions are

BundleError invalid(std::string message) { return {BundleError::Code::Invalid, std::move(message)}; }
BundleError io(std::string message) { return {BundleError::Code::Io, std::move(message)}; }
std::string errnoText() { return std::strerror(errno); }

// A stoa.conf value is the rest of the line up to a `#`, trimmed: anything
// that would be cut or split there is refused rather than written wrong.
bool confSafe(std::string_view v)
{
    for (const char c : v)
        if (c == '#' || static_cast<unsigned char>(c) <= ' ' || c == '\x7f')
            return false;
    return !v.empty();
}

bool isLoopbackHost(const QString &host)
{
    return host == QLatin1String("localhost") || host.startsWith(QLatin1String("127.")) || host == QLatin1String("::1");
}

// write(2) until done; EINTR is not an error.
bool writeAll(int fd, std::string_view bytes)
{
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// One file written beside its final name. FAT (a boot partition) cannot
// hold Unix modes: its mount options decide, which is a warning, not an
// error, since that is where an installer puts the bundle.
std::expected<fs::path, BundleError> writeTemporary(const fs::path &dir, const std::string &name, std::string_view content,
                                                   mode_t mode, std::vector<std::string> &warnings)
{
    std::string pattern = (dir / ("." + name + ".XXXXXX")).string();
    const int fd = ::mkstemp(pattern.data()); // O_EXCL, mode 0600 from the start: the token is never readable by others
    if (fd < 0)
        return std::unexpected(io("cannot write in " + dir.string() + ": " + errnoText()));
    const fs::path temporary = pattern;
    auto fail = [&](const std::string &what) {
        const std::string why = errnoText();
        ::close(fd);
        ::unlink(temporary.c_str());
        return std::unexpected(io(what + " " + temporary.string() + ": " + why));
    };
    struct stat st {};
    const bool chmodded = ::fchmod(fd, mode) == 0;
    if (::fstat(fd, &st) != 0)
        return fail("cannot stat");
    if (!chmodded || (st.st_mode & 0777) != mode) {
        struct statfs sfs {};
        if (::fstatfs(fd, &sfs) != 0 || static_cast<long>(sfs.f_type) != kFatMagic)
            return fail("cannot set the mode of");
        char shown[8];
        std::snprintf(shown, sizeof shown, "%04o", static_cast<unsigned>(st.st_mode & 0777));
        warnings.push_back(dir.string() + " is a FAT file system: " + name + " gets mode " + shown
                           + " from its mount options, not " + (mode == 0600 ? "0600" : "0644")
                           + (name == kToken ? "; keep the card to yourself until the device has taken it over" : ""));
    }
    if (!writeAll(fd, content))
        return fail("cannot write");
    if (::fsync(fd) != 0)
        return fail("cannot fsync");
    if (::close(fd) != 0) {
        const std::string why = errnoText();
        ::unlink(temporary.c_str());
        return std::unexpected(io("cannot write " + temporary.string() + ": " + why));
    }
    return temporary;
}

// rename(2) that refuses to replace: RENAME_NOREPLACE where the file system
// has it (ext4, tmpfs, vfat do), else a check first, which only a writer
// racing this one could defeat.
int renameNoReplace(const fs::path &from, const fs::path &to)
{
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return ::rename(from.c_str(), to.c_str());
}

} // namespace

std::expected<ServerUrl, BundleError> checkServerUrl(std::string_view text)
{
    const std::string shown(text);
    if (!confSafe(text))
        return std::unexpected(invalid("the server URL '" + shown + "' is empty or holds a space, a control character or '#'"));
    const QUrl url(QString::fromStdString(shown), QUrl::StrictMode);
    if (!url.isValid())
        return std::unexpected(invalid("'" + shown + "' is not a URL: " + url.errorString().toStdString()));
    const QString scheme = url.scheme();
    if (scheme != QLatin1String("http") && scheme != QLatin1String("https"))
        return std::unexpected(invalid("the server URL must be http:// or https://, not '" + shown + "'"));
    if (url.host().isEmpty())
        return std::unexpected(invalid("the server URL '" + shown + "' has no host"));
    if (!url.userInfo().isEmpty())
        return std::unexpected(invalid("the server URL must not hold credentials (the token is the device's credential)"));
    if (url.hasQuery())
        return std::unexpected(invalid("the server URL must not have a query: the device appends /v1/… to it"));
    ServerUrl out;
    out.url = shown;
    while (static_cast<qsizetype>(out.url.size()) > scheme.size() + 3 && out.url.back() == '/')
        out.url.pop_back(); // "https://hub/" + "/v1/…" would ask for //v1/…
    out.cleartextOffHost = scheme == QLatin1String("http") && !isLoopbackHost(url.host());
    return out;
}

std::expected<void, BundleError> recordPublicUrl(const fs::path &dataDir, const ServerUrl &url)
{
    std::vector<std::string> warnings; // the data directory is not FAT
    auto temporary = writeTemporary(dataDir, kPublicUrl, url.url + "\n", 0644, warnings);
    if (!temporary)
        return std::unexpected(temporary.error());
    if (::rename(temporary->c_str(), (dataDir / kPublicUrl).c_str()) != 0) {
        const std::string why = errnoText();
        ::unlink(temporary->c_str());
        return std::unexpected(io("cannot write " + (dataDir / kPublicUrl).string() + ": " + why));
    }
    return {};
}

std::optional<ServerUrl> recordedPublicUrl(const fs::path &dataDir)
{
    std::FILE *f = std::fopen((dataDir / kPublicUrl).c_str(), "rb");
    if (!f)
        return std::nullopt;
    char line[2048] = {};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    if (!read)
        return std::nullopt;
    std::string_view text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.remove_suffix(1);
    auto url = checkServerUrl(text);
    return url ? std::optional<ServerUrl>(*url) : std::nullopt;
}

std::string bundleConfig(const BundleSpec &spec)
{
    std::string c;
    c += "# stoa.conf for device " + spec.deviceId + ", written by `stoa-hub device add --provision` at "
         + QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString() + ".\n";
    c += "# On the device's boot partition, `stoa provision` checks it and installs it as\n";
    c += "# " + (spec.etcDir / "stoa.conf").string() + ", replacing that whole file: hence the shipped defaults\n";
    c += "# at the end. Add keys before the first boot if the device needs more (rotation,\n";
    c += "# quota, ...); a bad key is refused with its line (docs/operations.md).\n\n";
    // Keys by the table's names (settings/keys.h): a key no process reads
    // does not compile.
    namespace key = settings::key;
    auto line = [&c](std::string_view k, std::string_view value) {
        c.append(k).append(" = ").append(value).append("\n");
    };
    line(key::server, spec.serverUrl);
    line(key::deviceId, spec.deviceId);
    c += "# The bearer token: stoa-token beside this file, installed there (group stoa, 0640).\n";
    line(key::tokenFile, (spec.etcDir / "token").string());
    if (!spec.rootKeysPem)
        c += "# No stoa-root.pub in this bundle: the device image must hold this file.\n";
    line(key::trustedKeys, (spec.etcDir / "root.pub").string());
    if (spec.caPem) {
        c += "# The hub's TLS certificate is checked against stoa-ca.pem, installed there.\n";
        line(key::caFile, (spec.etcDir / "ca.pem").string());
    }
    // The hub serves its console beside the device routes: the same
    // address, so the diagnostics QR code can open this device's page.
    c += "# The diagnostics screen's QR code opens this device's page on the hub's console.\n";
    std::string console = spec.serverUrl;
    while (console.ends_with('/'))
        console.pop_back();
    line(key::hubConsoleUrl, console + "/console/");
    c += "\n";
    // Kept in step with packaging/stoa.conf: the file this one replaces.
    c += "# The settings of the shipped stoa.conf (packaging/stoa.conf) this file replaces.\n";
    line(key::dataDir, "/var/lib/stoa");
    line(key::minFree, "256M");
    line(key::playerListen, "127.0.0.1:9641");
    line(key::syncdListen, "127.0.0.1:9642");
    line(key::displayPower, settings::nameOf(settings::DisplayPower::Vcgencmd));
    return c;
}

std::expected<BundleWriter, BundleError> BundleWriter::stage(const fs::path &dir, const BundleSpec &spec, bool force,
                                                             std::vector<std::string> &warnings)
{
    // Checked here as well as by the CLI: these land in a file a device
    // trusts, and a value split by a newline or cut by a '#' would be a
    // different configuration from the one asked for.
    if (!schedule::isDeviceId(spec.deviceId))
        return std::unexpected(invalid("a device id is 1-64 characters of [A-Za-z0-9._-], not '" + spec.deviceId + "'"));
    if (auto url = checkServerUrl(spec.serverUrl); !url)
        return std::unexpected(url.error());
    if (!confSafe(spec.token) || spec.token.size() > 4096)
        return std::unexpected(invalid("a token is one line of 1-4096 characters without spaces"));
    if (!spec.etcDir.is_absolute() || !confSafe(spec.etcDir.string()))
        return std::unexpected(invalid("the device's configuration directory must be an absolute path without spaces or '#', not '"
                                       + spec.etcDir.string() + "'"));
    if (spec.rootKeysPem) {
        auto keys = schedule::loadPublicKeysPem(QByteArrayView(spec.rootKeysPem->data(), static_cast<qsizetype>(spec.rootKeysPem->size())));
        if (!keys)
            return std::unexpected(invalid("the root key: " + keys.error().reason.toStdString()));
        if (keys->empty())
            return std::unexpected(invalid("the root key file holds no public key"));
    }
    if (spec.caPem) {
        auto certs = schedule::countCertificatesPem(QByteArrayView(spec.caPem->data(), static_cast<qsizetype>(spec.caPem->size())));
        if (!certs)
            return std::unexpected(invalid("the CA file: " + certs.error().reason.toStdString()));
    }

    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (!fs::exists(status))
        return std::unexpected(io(dir.string() + " does not exist (mount the boot partition, or create the directory)"));
    if (!fs::is_directory(status))
        return std::unexpected(io(dir.string() + " is not a directory"));
    if (!force)
        for (const char *name : {kConf, kToken, kRootKey, kCa})
            if (fs::exists(fs::symlink_status(dir / name, ec)))
                return std::unexpected(BundleError{BundleError::Code::Exists,
                                                   dir.string() + " already holds a provisioning bundle (" + name
                                                       + "); --force replaces it"});

    BundleWriter writer(dir, force);
    if (!spec.rootKeysPem)
        writer.stale_.push_back(kRootKey);
    if (!spec.caPem)
        writer.stale_.push_back(kCa);
    auto add = [&](const char *name, std::string_view content, mode_t mode) -> std::optional<BundleError> {
        auto temporary = writeTemporary(dir, name, content, mode, warnings);
        if (!temporary)
            return temporary.error();
        writer.staged_.push_back({*temporary, name});
        return std::nullopt;
    };
    const std::string token = spec.token + "\n";
    if (auto e = add(kToken, token, 0600))
        return std::unexpected(*e);
    if (spec.rootKeysPem)
        if (auto e = add(kRootKey, *spec.rootKeysPem, 0644))
            return std::unexpected(*e);
    if (spec.caPem)
        if (auto e = add(kCa, *spec.caPem, 0644))
            return std::unexpected(*e);
    if (auto e = add(kConf, bundleConfig(spec), 0644)) // last: its presence means the bundle is complete
        return std::unexpected(*e);
    return writer;
}

std::expected<std::vector<std::string>, BundleError> BundleWriter::commit()
{
    std::vector<std::string> written;
    // A root key or CA left from an earlier bundle would be taken over with
    // this one's configuration: the bundle is what this command wrote, nothing more.
    if (force_)
        for (const auto &name : stale_)
            if (::unlink((dir_ / name).c_str()) != 0 && errno != ENOENT)
                return std::unexpected(io("cannot remove the earlier " + (dir_ / name).string() + ": " + errnoText()));
    while (!staged_.empty()) {
        const Staged &s = staged_.front();
        const fs::path target = dir_ / s.name;
        const int rc = force_ ? ::rename(s.temporary.c_str(), target.c_str()) : renameNoReplace(s.temporary, target);
        if (rc != 0) {
            const int err = errno;
            std::string message = err == EEXIST ? target.string() + " appeared meanwhile; --force replaces it"
                                                : "cannot move " + s.name + " into place: " + std::strerror(err);
            if (!written.empty()) {
                message += " (already written:";
                for (const auto &w : written)
                    message += " " + w;
                message += ")";
            }
            return std::unexpected(BundleError{err == EEXIST ? BundleError::Code::Exists : BundleError::Code::Io, message});
        }
        written.push_back(s.name);
        staged_.erase(staged_.begin());
    }
    const int dirFd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd < 0 || ::fsync(dirFd) != 0) {
        const std::string why = errnoText();
        if (dirFd >= 0)
            ::close(dirFd);
        return std::unexpected(io("cannot fsync " + dir_.string() + ": " + why));
    }
    ::close(dirFd);
    return written;
}

BundleWriter::BundleWriter(fs::path dir, bool force) : dir_(std::move(dir)), force_(force) {}

BundleWriter::BundleWriter(BundleWriter &&other) noexcept
    : dir_(std::move(other.dir_)), force_(other.force_), stale_(std::move(other.stale_)), staged_(std::move(other.staged_))
{
    other.staged_.clear();
}

BundleWriter::~BundleWriter()
{
    for (const auto &s : staged_)
        ::unlink(s.temporary.c_str());
}

} // namespace stoa::hub
