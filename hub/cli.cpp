// hub/cli.cpp — the `stoa-hub` command line (cli.h): options -> the hub,
// its storage, or its API; what went wrong goes to stderr with the exit code
// cli.h lists. Invariant: a command that issues a token prints it alone on
// the last line of stdout, whatever else it writes (scripts take that line).
#include "hub/cli.h"
#include "schedule/identifiers.h"

#include "hub/api_client.h"
#include "hub/console_files.h"
#include "hub/credentials.h"
#include "hub/hub.h"
#include "hub/logging.h"
#include "hub/open_storage.h"
#include "hub/passwords.h"
#include "hub/provisioning.h"

#include <curl/curl.h>

#include <QDir>
#include <QFileInfo>
#include <QUrl>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <optional>
#include <pthread.h>
#include <unistd.h>

namespace stoa::hub {
namespace {

const char kUsage[] =
    "usage:\n"
    "  stoa-hub serve --data-dir DIR --listen ADDR:PORT [--database URL] [--public-url URL]\n"
    "                 [--threads N] [--max-connections N] [--tls-cert FILE --tls-key FILE]\n"
    "                 [--console-dir DIR]   (the operator console's files; docs/console.md)\n"
    "                 [--notify-webhook URL] [--notify-email ADDR[,ADDR…]] [--notify-from ADDR]\n"
    "                 [--sendmail PATH] [--hub-name NAME] [--notify-hold-s N] [--notify-check-s N]\n"
    "                 [--notify-alive-s N] [--notify-digest-hour H|off]   (docs/operations.md)\n"
    "  stoa-hub device add ID --data-dir DIR [--database URL]\n"
    "                  [--provision BUNDLE [--public-url URL] [--root-key FILE] [--ca-file FILE]\n"
    "                   [--etc DIR] [--force]]\n"
    "  stoa-hub device revoke ID --data-dir DIR [--database URL]\n"
    "  stoa-hub operator add NAME --role admin|editor|viewer --data-dir DIR [--database URL]\n"
    "  stoa-hub operator passwd NAME --data-dir DIR [--database URL]   (the password on stdin)\n"
    "\n"
    "Over a running hub's API (docs/hub-api.md), for scripts; the hub from --hub or\n"
    "STOA_HUB_URL, the operator token from --token-file or STOA_HUB_TOKEN:\n"
    "  stoa-hub devices [--group G] [--tag T] [--state online|stale|offline|never]\n"
    "  stoa-hub media put FILE [--name NAME]\n"
    "  stoa-hub schedule get|put|delete fleet|devices/ID|groups/NAME [FILE]\n"
    "  stoa-hub command ID screenshot|restart_player|reboot|clear_cache|display_on|display_off\n"
    "  stoa-hub call METHOD /api/v1/PATH [--data FILE]\n"
    "  (with [--hub URL] [--token-file FILE] [--ca-file FILE])\n"
    "\n"
    "--database: empty for SQLite in DIR/hub.db, or postgresql://USER@HOST:PORT/DB.\n"
    "--listen port 0 picks a free port and logs it. Tokens are printed alone on the\n"
    "last line of stdout, once: the hub keeps only their hash.\n"
    "--provision also writes the files `stoa provision` takes over from a device's boot\n"
    "partition into BUNDLE (an existing directory): stoa.conf (server = --public-url,\n"
    "by default the one `serve --public-url` recorded in DIR,\n"
    "device_id, token_file), stoa-token (0600), with --root-key stoa-root.pub, and with\n"
    "--ca-file (the CA the hub's TLS certificate chains to, when it is not one the\n"
    "device's system store trusts) stoa-ca.pem, named by the device's ca_file;\n"
    "--etc is the device's configuration directory (default /etc/stoa); an existing\n"
    "bundle is replaced only with --force.\n";

struct Parsed {
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;
    std::string error;
};

// `known` options take a value; `switches` take none (their value is "").
Parsed parse(const std::vector<std::string> &args, std::initializer_list<const char *> known,
             std::initializer_list<const char *> switches = {})
{
    Parsed p;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (!a.starts_with("--")) {
            p.positional.push_back(a);
            continue;
        }
        bool isSwitch = false;
        for (const char *k : switches)
            isSwitch = isSwitch || a == k;
        if (isSwitch) {
            p.flags[a];
            continue;
        }
        bool ok = false;
        for (const char *k : known)
            ok = ok || a == k;
        if (!ok) {
            p.error = "unknown option " + a;
            return p;
        }
        if (i + 1 >= args.size()) {
            p.error = a + " needs a value";
            return p;
        }
        p.flags[a] = args[++i];
    }
    return p;
}

int usageError(const std::string &message)
{
    std::fprintf(stderr, "stoa-hub: %s\n%s", message.c_str(), kUsage);
    return 2;
}

std::int64_t nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The storage a maintenance subcommand works on, migrated.
std::optional<std::unique_ptr<Storage>> openFor(const Parsed &p, int &exitCode)
{
    const auto dir = p.flags.find("--data-dir");
    const auto db = p.flags.find("--database");
    if (dir == p.flags.end()) {
        exitCode = usageError("--data-dir is required");
        return std::nullopt;
    }
    if (db == p.flags.end() && !QDir().mkpath(QString::fromStdString(dir->second))) {
        std::fprintf(stderr, "stoa-hub: cannot create %s\n", dir->second.c_str());
        exitCode = 3;
        return std::nullopt;
    }
    auto storage = openStorage(db == p.flags.end() ? std::string() : db->second, dir->second);
    if (!storage) {
        std::fprintf(stderr, "stoa-hub: database: %s\n", storage.error().message.c_str());
        exitCode = 3;
        return std::nullopt;
    }
    if (auto m = (*storage)->migrate(); !m) {
        std::fprintf(stderr, "stoa-hub: database schema: %s\n", m.error().message.c_str());
        exitCode = 3;
        return std::nullopt;
    }
    return std::move(*storage);
}

int exitFor(const StorageError &e)
{
    std::fprintf(stderr, "stoa-hub: %s\n", e.message.c_str());
    return e.code == StorageError::Code::Conflict || e.code == StorageError::Code::NotFound
                   || e.code == StorageError::Code::Invalid
               ? 1
               : 3;
}

bool readFile(const std::string &path, std::string &out)
{
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f)
        return false;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    const bool ok = !std::ferror(f);
    std::fclose(f);
    return ok;
}

} // namespace

bool answersHttp(const std::string &url)
{
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl)
        return false;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, +[](char *, std::size_t size, std::size_t n, void *) { return size * n; });
    // Itself, by address: the certificate names the public host, not this one.
    curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYHOST, 0L);
    if (curl_easy_perform(curl.get()) != CURLE_OK)
        return false;
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    return status > 0;
}

namespace {

int serve(const std::vector<std::string> &args, const ServeHooks &hooks)
{
    auto p = parse(args, {"--data-dir", "--listen", "--database", "--public-url", "--threads", "--max-connections",
                          "--tls-cert", "--tls-key", "--console-dir", "--notify-webhook", "--notify-email",
                          "--notify-from", "--sendmail", "--hub-name", "--notify-hold-s", "--notify-check-s",
                          "--notify-alive-s", "--notify-digest-hour"});
    if (!p.error.empty())
        return usageError(p.error);
    if (!p.positional.empty())
        return usageError("serve takes no argument " + p.positional.front());
    HubOptions options;
    options.dataDir = p.flags["--data-dir"];
    options.databaseUrl = p.flags["--database"];
    if (p.flags.count("--public-url")) {
        const auto url = checkServerUrl(p.flags["--public-url"]);
        if (!url)
            return usageError("--public-url: " + url.error().message);
        options.publicUrl = url->url;
    }
    options.consoleDir = p.flags.count("--console-dir") ? p.flags["--console-dir"] : defaultConsoleDir();
    const std::string listen = p.flags.count("--listen") ? p.flags["--listen"] : "127.0.0.1:8080";
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos)
        return usageError("--listen must be ADDR:PORT, not " + listen);
    std::string address = listen.substr(0, colon);
    if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
        address = address.substr(1, address.size() - 2);
    char *end = nullptr;
    const unsigned long port = std::strtoul(listen.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || port > 65535 || colon + 1 == listen.size())
        return usageError("--listen must be ADDR:PORT, not " + listen);
    options.http.address = address;
    options.http.port = static_cast<std::uint16_t>(port);
    auto number = [&](const char *flag, unsigned lo, unsigned hi, unsigned &out) {
        if (!p.flags.count(flag))
            return true;
        const std::string &v = p.flags[flag];
        unsigned n = 0;
        const auto [stop, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || stop != v.data() + v.size() || n < lo || n > hi)
            return false;
        out = n;
        return true;
    };
    if (!number("--threads", 1, 256, options.http.threads))
        return usageError("--threads must be a number from 1 to 256");
    if (!number("--max-connections", 2, 1000000, options.http.connectionLimit))
        return usageError("--max-connections must be a number from 2 to 1000000");
    if (p.flags.count("--tls-cert") != p.flags.count("--tls-key"))
        return usageError("--tls-cert and --tls-key go together");
    {
        NotifyOptions &n = options.notify;
        // (find(), not operator[]: an absent flag must stay absent for number().)
        auto flag = [&](const char *name) {
            const auto it = p.flags.find(name);
            return it == p.flags.end() ? std::string() : it->second;
        };
        n.webhookUrl = flag("--notify-webhook");
        if (!n.webhookUrl.empty() && !n.webhookUrl.starts_with("http://") && !n.webhookUrl.starts_with("https://"))
            return usageError("--notify-webhook must be an http:// or https:// URL");
        const std::string all = flag("--notify-email");
        for (std::size_t pos = 0; pos < all.size();) {
            const auto comma = std::min(all.find(',', pos), all.size());
            const std::string to = all.substr(pos, comma - pos);
            if (to.find('@') == std::string::npos || to.find_first_of(" \r\n<>") != std::string::npos)
                return usageError("--notify-email takes addresses like ops@example.org, not " + to);
            n.emailTo.push_back(to);
            pos = comma + 1;
        }
        if (p.flags.count("--notify-from"))
            n.emailFrom = p.flags["--notify-from"];
        if (p.flags.count("--sendmail"))
            n.sendmail = p.flags["--sendmail"];
        char host[256] = {};
        n.hubName = p.flags.count("--hub-name") ? p.flags["--hub-name"]
                    : gethostname(host, sizeof host - 1) == 0 ? "stoa-hub@" + std::string(host) : "stoa-hub";
        unsigned hold = 120, check = 30, alive = 3600, hour = 8;
        if (!number("--notify-hold-s", 0, 86400, hold) || !number("--notify-check-s", 1, 3600, check)
            || !number("--notify-alive-s", 0, 7 * 86400, alive))
            return usageError("--notify-hold-s (0-86400), --notify-check-s (1-3600) and --notify-alive-s (0-604800) "
                              "are numbers of seconds");
        const bool noDigest = flag("--notify-digest-hour") == "off";
        if (!noDigest && !number("--notify-digest-hour", 0, 23, hour))
            return usageError("--notify-digest-hour is an hour of the day, 0-23 (UTC), or off");
        n.watch.holdMs = std::int64_t{hold} * 1000;
        n.checkMs = std::int64_t{check} * 1000;
        n.aliveMs = std::int64_t{alive} * 1000;
        n.digestHourUtc = noDigest ? -1 : static_cast<int>(hour);
    }
    if (p.flags.count("--tls-cert")) {
        if (!readFile(p.flags["--tls-cert"], options.http.tlsCertPem) || !readFile(p.flags["--tls-key"], options.http.tlsKeyPem)) {
            std::fprintf(stderr, "stoa-hub: cannot read the TLS certificate or key\n");
            return 3;
        }
    }

    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

    auto hub = Hub::open(options);
    if (!hub) {
        std::fprintf(stderr, "stoa-hub: %s\n", hub.error().c_str());
        return 3;
    }
    if (auto e = (*hub)->start()) {
        std::fprintf(stderr, "stoa-hub: %s\n", e->c_str());
        return 3;
    }
    if (!options.publicUrl.empty())
        if (auto recorded = recordPublicUrl(options.dataDir, *checkServerUrl(options.publicUrl)); !recorded)
            qCWarning(lcHub).noquote() << "cannot record the public URL for `device add --provision`:"
                                       << recorded.error().message.c_str();
    const bool tls = !options.http.tlsCertPem.empty();
    const std::string shown = (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":"
                              + std::to_string((*hub)->port());
    qCInfo(lcHub).noquote() << "stoa-hub" << STOA_VERSION << "serving" << (tls ? "https://" : "http://") + QString::fromStdString(shown)
                            << "data" << options.dataDir.c_str()
                            << "database" << (options.databaseUrl.empty() ? "sqlite" : "postgresql")
                            << "console" << options.consoleDir.c_str();
    const bool loopback = address.starts_with("127.") || address == "::1" || address == "localhost";
    if (!tls && !loopback)
        qCWarning(lcHub).noquote() << "listening on" << shown.c_str()
                                   << "WITHOUT TLS: device and operator tokens cross the network in clear; "
                                      "use --tls-cert/--tls-key or a TLS-terminating proxy (docs/hub.md)";
    // The service manager (packaging/hub/stoa-hub.service: Type=notify, a
    // watchdog fed while the hub answers HTTP), through the executable.
    const std::string selfHost = address == "0.0.0.0" ? "127.0.0.1" : address == "::" ? "::1" : address;
    const std::string selfUrl = (tls ? "https://" : "http://")
                                + (selfHost.find(':') != std::string::npos ? "[" + selfHost + "]" : selfHost) + ":"
                                + std::to_string((*hub)->port()) + "/healthz";
    if (hooks.serving)
        hooks.serving(selfUrl, shown);
    int sig = 0;
    for (;;) {
        sigwait(&stopSignals, &sig);
        if (sig != SIGHUP)
            break;
        // SIGHUP: the certificate and key files again (a renewed certificate).
        if (!tls) {
            qCInfo(lcHub) << "SIGHUP: no TLS files to reload";
            continue;
        }
        std::string cert, key;
        if (!readFile(p.flags["--tls-cert"], cert) || !readFile(p.flags["--tls-key"], key)) {
            qCWarning(lcHub) << "SIGHUP: cannot read the TLS files; still serving the previous certificate";
            continue;
        }
        if (auto e = (*hub)->reloadTls(std::move(cert), std::move(key)))
            qCWarning(lcHub).noquote() << "SIGHUP:" << e->c_str();
        else
            qCInfo(lcHub) << "SIGHUP: serving the reloaded TLS certificate";
    }
    qCInfo(lcHub) << "signal" << sig << ": stopping";
    if (hooks.stopping)
        hooks.stopping();
    (*hub)->stop();
    return 0;
}

// The bundle `device add --provision` writes (provisioning.h), from the
// options; nullopt with `exitCode` set when they are wrong. Checked before
// anything is registered.
std::optional<BundleSpec> bundleSpec(Parsed &p, const std::string &id, int &exitCode)
{
    BundleSpec spec;
    spec.deviceId = id;
    std::string given;
    if (p.flags.count("--public-url")) {
        given = p.flags["--public-url"];
    } else if (auto recorded = recordedPublicUrl(p.flags["--data-dir"])) {
        given = recorded->url;
        std::fprintf(stderr, "stoa-hub: the device's server is %s, the URL `stoa-hub serve --public-url` recorded in %s\n",
                     recorded->url.c_str(), p.flags["--data-dir"].c_str());
    } else {
        exitCode = usageError("--provision needs --public-url URL: the hub's URL as the device reaches it (its `server`); "
                              "or serve once with --public-url and this data directory, which records it");
        return std::nullopt;
    }
    const auto url = checkServerUrl(given);
    if (!url) {
        exitCode = usageError(url.error().message);
        return std::nullopt;
    }
    if (url->cleartextOffHost)
        std::fprintf(stderr, "stoa-hub: warning: %s is plain HTTP to another machine: the device's token would cross "
                             "the network in clear (docs/hub.md, TLS)\n", url->url.c_str());
    spec.serverUrl = url->url;
    if (p.flags.count("--etc"))
        spec.etcDir = p.flags["--etc"];
    if (p.flags.count("--root-key")) {
        std::string pem;
        if (!readFile(p.flags["--root-key"], pem)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", p.flags["--root-key"].c_str());
            exitCode = 2;
            return std::nullopt;
        }
        spec.rootKeysPem = std::move(pem);
    }
    if (p.flags.count("--ca-file")) {
        std::string pem;
        if (!readFile(p.flags["--ca-file"], pem)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", p.flags["--ca-file"].c_str());
            exitCode = 2;
            return std::nullopt;
        }
        spec.caPem = std::move(pem);
    } else if (url->url.starts_with("https://")) {
        std::fprintf(stderr, "stoa-hub: note: no --ca-file: the device must trust %s's certificate through its system "
                             "store\n", url->url.c_str());
    }
    return spec;
}

int exitFor(const BundleError &e)
{
    std::fprintf(stderr, "stoa-hub: %s\n", e.message.c_str());
    switch (e.code) {
    case BundleError::Code::Invalid: return 2;
    case BundleError::Code::Exists: return 1;
    case BundleError::Code::Io: return 3;
    }
    return 3;
}

// device add: with --provision, the bundle is staged (every file written
// beside its final name) before the device is registered and moved into
// place after, so a refusal on either side leaves neither a registered
// device with a lost token nor a bundle whose token the hub does not know.
int deviceAdd(Parsed &p, const std::string &id)
{
    const bool provisioning = p.flags.count("--provision") > 0;
    for (const char *flag : {"--public-url", "--root-key", "--ca-file", "--etc", "--force"})
        if (!provisioning && p.flags.count(flag))
            return usageError(std::string(flag) + " goes with --provision DIR");
    if (!p.flags.count("--data-dir"))
        return usageError("--data-dir is required"); // before anything is written into BUNDLE
    int code = 0;
    std::optional<BundleSpec> spec;
    if (provisioning && !(spec = bundleSpec(p, id, code)))
        return code;
    const auto token = newToken(TokenKind::Device);
    if (!token) {
        std::fprintf(stderr, "stoa-hub: no random bytes for a token\n");
        return 3;
    }
    std::optional<BundleWriter> bundle;
    const std::string bundleDir = provisioning ? p.flags["--provision"] : std::string();
    if (spec) {
        spec->token = *token;
        std::vector<std::string> warnings;
        auto staged = BundleWriter::stage(bundleDir, *spec, p.flags.count("--force") > 0, warnings);
        for (const auto &w : warnings)
            std::fprintf(stderr, "stoa-hub: warning: %s\n", w.c_str());
        if (!staged)
            return exitFor(staged.error());
        bundle.emplace(std::move(*staged));
    }
    auto storage = openFor(p, code);
    if (!storage)
        return code; // the staged files go with `bundle`
    if (auto r = (*storage)->addDevice(id, tokenHash(*token), nowMs()); !r)
        return exitFor(r.error());
    if (bundle) {
        const auto written = bundle->commit();
        if (!written) {
            // Registered: the token is the one way to finish by hand.
            std::fprintf(stderr,
                         "stoa-hub: device %s is registered, but its provisioning bundle is not complete: %s\n"
                         "stoa-hub: its token is on the last line of stdout; finish the bundle by hand, or run "
                         "`stoa-hub device revoke %s`\n",
                         id.c_str(), written.error().message.c_str(), id.c_str());
            std::printf("%s\n", token->c_str());
            return written.error().code == BundleError::Code::Exists ? 1 : 3;
        }
        std::string files;
        for (const auto &f : *written)
            files += (files.empty() ? "" : ", ") + f;
        std::printf("provisioning bundle for %s in %s: %s (server %s); copy it onto the device's boot partition, "
                    "where `stoa provision` takes it over\n",
                    id.c_str(), bundleDir.c_str(), files.c_str(), spec->serverUrl.c_str());
        if (!spec->rootKeysPem)
            std::printf("no --root-key: the device must already hold %s\n", (spec->etcDir / "root.pub").c_str());
    }
    std::printf("device %s added; its bearer token (shown once, set it as the device's `token`):\n%s\n", id.c_str(),
                token->c_str());
    return 0;
}

int device(const std::vector<std::string> &args)
{
    auto p = parse(args, {"--data-dir", "--database", "--provision", "--public-url", "--root-key", "--ca-file", "--etc"},
                   {"--force"});
    if (!p.error.empty())
        return usageError(p.error);
    if (p.positional.size() != 2 || (p.positional[0] != "add" && p.positional[0] != "revoke"))
        return usageError("device add ID | device revoke ID");
    const std::string &id = p.positional[1];
    if (!schedule::isDeviceId(id))
        return usageError("a device id is 1-64 characters of [A-Za-z0-9._-], not " + id);
    if (p.positional[0] == "add")
        return deviceAdd(p, id);
    for (const char *flag : {"--provision", "--public-url", "--root-key", "--ca-file", "--etc", "--force"})
        if (p.flags.count(flag))
            return usageError(std::string(flag) + " goes with device add");
    int code = 0;
    auto storage = openFor(p, code);
    if (!storage)
        return code;
    if (auto r = (*storage)->revokeDevice(id); !r)
        return exitFor(r.error());
    std::printf("device %s revoked\n", id.c_str());
    return 0;
}

// The password on the first line of stdin (a prompt would need a TTY; a
// script pipes it): hashed with scrypt, never echoed nor logged.
int operatorPasswd(Parsed &p)
{
    const std::string &name = p.positional[1];
    std::string password;
    for (int c; (c = std::fgetc(stdin)) != EOF && c != '\n';)
        password += static_cast<char>(c);
    if (!password.empty() && password.back() == '\r')
        password.pop_back();
    if (password.size() < 12)
        return usageError("a password of at least 12 characters on the first line of stdin");
    int code = 0;
    auto storage = openFor(p, code);
    if (!storage)
        return code;
    const auto hash = hashPassword(password);
    std::fill(password.begin(), password.end(), '\0');
    if (!hash) {
        std::fprintf(stderr, "stoa-hub: cannot hash the password\n");
        return 3;
    }
    if (auto r = (*storage)->setOperatorPassword(name, *hash); !r)
        return exitFor(r.error());
    std::printf("operator %s: password set (POST /api/v1/login)\n", name.c_str());
    return 0;
}

int operatorCmd(const std::vector<std::string> &args)
{
    auto p = parse(args, {"--data-dir", "--database", "--role"});
    if (!p.error.empty())
        return usageError(p.error);
    if (p.positional.size() == 2 && p.positional[0] == "passwd")
        return operatorPasswd(p);
    if (p.positional.size() != 2 || p.positional[0] != "add")
        return usageError("operator add NAME --role admin|editor|viewer, or operator passwd NAME");
    const std::string &name = p.positional[1];
    if (name.empty() || name.size() > 64)
        return usageError("an operator name is 1-64 characters");
    const auto role = roleFromName(p.flags["--role"]);
    if (!role)
        return usageError("--role must be admin, editor or viewer");
    int code = 0;
    auto storage = openFor(p, code);
    if (!storage)
        return code;
    const auto token = newToken(TokenKind::Operator);
    if (!token) {
        std::fprintf(stderr, "stoa-hub: no random bytes for a token\n");
        return 3;
    }
    if (auto r = (*storage)->addOperator(name, *role, tokenHash(*token), nowMs()); !r)
        return exitFor(r.error());
    std::printf("operator %s (%s) added; API token (shown once):\n%s\n", name.c_str(), roleName(*role), token->c_str());
    return 0;
}

// --- Subcommands over the API ------------------------------------------------

std::optional<ApiTarget> apiTarget(Parsed &p, int &exitCode)
{
    ApiTarget t;
    t.hub = p.flags.count("--hub") ? p.flags["--hub"] : qEnvironmentVariable("STOA_HUB_URL").toStdString();
    t.caFile = p.flags["--ca-file"];
    if (p.flags.count("--token-file")) {
        if (!readFile(p.flags["--token-file"], t.token)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", p.flags["--token-file"].c_str());
            exitCode = 2;
            return std::nullopt;
        }
    } else {
        t.token = qEnvironmentVariable("STOA_HUB_TOKEN").toStdString();
    }
    while (!t.token.empty() && (t.token.back() == '\n' || t.token.back() == '\r' || t.token.back() == ' '))
        t.token.pop_back();
    if (t.hub.empty() || t.token.empty()) {
        exitCode = usageError("the hub (--hub or STOA_HUB_URL) and an operator token (--token-file or STOA_HUB_TOKEN) are needed");
        return std::nullopt;
    }
    return t;
}

// Prints the answer: the body on stdout for a 2xx (exit 0), else on stderr
// (exit 1 for a refusal, 3 when the hub or the network failed).
int report(const std::expected<ApiAnswer, std::string> &answer)
{
    if (!answer) {
        std::fprintf(stderr, "stoa-hub: %s\n", answer.error().c_str());
        return 3;
    }
    if (answer->status >= 200 && answer->status < 300) {
        std::fputs(answer->body.c_str(), stdout);
        if (!answer->body.empty() && answer->body.back() != '\n')
            std::fputc('\n', stdout);
        return 0;
    }
    std::fprintf(stderr, "stoa-hub: HTTP %ld: %s", answer->status, answer->body.c_str());
    if (answer->body.empty() || answer->body.back() != '\n')
        std::fputc('\n', stderr);
    return answer->status >= 500 ? 3 : 1;
}

std::string percentEncode(const std::string &s)
{
    return QUrl::toPercentEncoding(QString::fromStdString(s)).toStdString();
}

int apiCommand(const std::string &cmd, const std::vector<std::string> &args)
{
    auto p = parse(args, {"--hub", "--token-file", "--ca-file", "--group", "--tag", "--state", "--name", "--data"});
    if (!p.error.empty())
        return usageError(p.error);
    int code = 0;
    const auto target = apiTarget(p, code);
    if (!target)
        return code;
    const auto &a = p.positional;
    if (cmd == "devices") {
        if (!a.empty())
            return usageError("devices takes no argument");
        std::string query;
        for (const char *f : {"--group", "--tag", "--state"})
            if (p.flags.count(f))
                query += (query.empty() ? "?" : "&") + std::string(f + 2) + "=" + percentEncode(p.flags[f]);
        return report(callApi(*target, "GET", "/api/v1/devices" + query));
    }
    if (cmd == "media") {
        if (a.size() != 2 || a[0] != "put")
            return usageError("media put FILE [--name NAME]");
        std::string bytes;
        if (!readFile(a[1], bytes)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", a[1].c_str());
            return 2;
        }
        const std::string name = p.flags.count("--name") ? p.flags["--name"] : QFileInfo(QString::fromStdString(a[1])).fileName().toStdString();
        return report(callApi(*target, "PUT", "/api/v1/media/" + percentEncode(name), bytes, "application/octet-stream"));
    }
    if (cmd == "schedule") {
        if (a.size() < 2 || (a[0] != "get" && a[0] != "put" && a[0] != "delete") || (a[0] == "put") != (a.size() == 3))
            return usageError("schedule get|delete TARGET, or schedule put TARGET FILE");
        const std::string path = "/api/v1/schedules/" + a[1];
        if (a[0] == "get")
            return report(callApi(*target, "GET", path));
        if (a[0] == "delete")
            return report(callApi(*target, "DELETE", path));
        std::string text;
        if (!readFile(a[2], text)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", a[2].c_str());
            return 2;
        }
        return report(callApi(*target, "PUT", path, text, "text/plain; charset=utf-8"));
    }
    if (cmd == "command") {
        if (a.size() != 2)
            return usageError("command DEVICE TYPE");
        return report(callApi(*target, "POST", "/api/v1/devices/" + percentEncode(a[0]) + "/commands",
                              "{\"type\":\"" + a[1] + "\"}"));
    }
    // call METHOD PATH [--data FILE]
    if (a.size() != 2 || !a[1].starts_with("/"))
        return usageError("call METHOD /api/v1/PATH [--data FILE]");
    std::string body;
    if (p.flags.count("--data") && !readFile(p.flags["--data"], body)) {
        std::fprintf(stderr, "stoa-hub: cannot read %s\n", p.flags["--data"].c_str());
        return 2;
    }
    return report(callApi(*target, a[0], a[1], body));
}

} // namespace

const char *hubUsage() { return kUsage; }

int runCli(const std::vector<std::string> &args, const ServeHooks &hooks)
{
    if (args.empty())
        return usageError("a subcommand is required");
    const std::string &cmd = args.front();
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "--version") {
        std::printf("stoa-hub %s\n", STOA_VERSION);
        return 0;
    }
    if (cmd == "serve")
        return serve(rest, hooks);
    if (cmd == "device")
        return device(rest);
    if (cmd == "operator")
        return operatorCmd(rest);
    if (cmd == "devices" || cmd == "media" || cmd == "schedule" || cmd == "command" || cmd == "call")
        return apiCommand(cmd, rest);
    return usageError("unknown subcommand " + cmd);
}

} // namespace stoa::hub
