// hub/cli_admin.cpp — the maintenance subcommands, on the database directly
// (no hub needs to run): `device add` (with --provision, the bundle
// `stoa provision` takes over, provisioning.h), `device revoke`,
// `operator add` and `operator passwd`.
// Invariant: a token is printed once, alone on the last line of stdout; the
// database keeps only its hash; a password is read from stdin, never echoed
// nor logged.
#include "hub/cli_impl.h"
#include "hub/credentials.h"
#include "hub/passwords.h"
#include "hub/provisioning.h"
#include "schedule/identifiers.h"

#include <algorithm>
#include <cstdio>

namespace stoa::hub::cli {
namespace {

using cli::exitFor; // a StorageError's (cli_impl.h), beside a BundleError's below

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

} // namespace

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

} // namespace stoa::hub::cli
