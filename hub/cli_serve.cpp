// hub/cli_serve.cpp — `stoa-hub serve`: the options into HubOptions (with
// the notifier's), the hub started, then the signals: SIGHUP reloads the TLS
// certificate and key, SIGTERM/SIGINT stop gracefully; the service
// manager's hooks (cli.h ServeHooks) told when serving and when stopping.
// And answersHttp(), the watchdog's probe.
#include "hub/cli_impl.h"
#include "hub/console_files.h"
#include "hub/hub.h"
#include "hub/logging.h"
#include "hub/provisioning.h"

#include <curl/curl.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <unistd.h>

namespace stoa::hub {

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

int cli::serve(const std::vector<std::string> &args, const ServeHooks &hooks)
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

} // namespace stoa::hub
