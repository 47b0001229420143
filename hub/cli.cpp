// hub/cli.cpp — the `stoa-hub` command line (cli.h): options -> the hub,
// its storage, or its API; what went wrong goes to stderr with the exit code
// cli.h lists. Invariant: a command that issues a token prints it alone on
// the last line of stdout, whatever else it writes (scripts take that line).
// The subcommands are in cli_serve.cpp, cli_admin.cpp and cli_api.cpp
// (cli_impl.h); here: the usage, the option parser, what they share, and
// the dispatch.
#include "hub/cli.h"
#include "hub/cli_impl.h"
#include "hub/open_storage.h"

#include <QDir>

#include <chrono>
#include <cstdio>

namespace stoa::hub {
namespace cli {
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

} // namespace

Parsed parse(const std::vector<std::string> &args, std::initializer_list<const char *> known,
             std::initializer_list<const char *> switches)
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

} // namespace cli

const char *hubUsage() { return cli::kUsage; }

int runCli(const std::vector<std::string> &args, const ServeHooks &hooks)
{
    using namespace cli;
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
