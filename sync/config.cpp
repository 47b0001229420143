// sync/config.cpp — the agent's flags and keys (see config.h).
#include "sync/config.h"

#include "settings/stoa_conf.h"

#include <map>

namespace stoa::sync {

namespace {

// "Config keys: a b c ..." wrapped for an 80-column terminal.
std::string wrapped(const std::string &head, const std::string &words, const std::string &indent)
{
    std::string out, line = head;
    std::size_t pos = 0;
    while (pos < words.size()) {
        auto end = words.find(' ', pos);
        if (end == std::string::npos)
            end = words.size();
        const std::string word = words.substr(pos, end - pos);
        pos = end + 1;
        if (line.size() + 1 + word.size() > 86 && line != head && line != indent) {
            out += line + "\n";
            line = indent;
        }
        line += (line == head && head.ends_with(' ')) || line == indent ? word : " " + word;
    }
    return out + line + "\n";
}

std::string usage()
{
    std::string playerOnly;
    for (const auto &k : settings::keys())
        if (k.reader == settings::Reader::Player)
            playerOnly += (playerOnly.empty() ? "" : " ") + std::string(k.name);
    return "usage: stoa-syncd [options]\n"
           "Keeps the device's store in line with the backend (protocol v1).\n\n"
           "  --config FILE         config file (default /etc/stoa/stoa.conf)\n"
           "  --data-dir DIR        the store (default /var/lib/stoa)\n"
           "  --server URL          the base URL S (http://, https://, file://)\n"
           "  --trusted-keys FILE   PEM file with one or more root public keys\n"
           "  --device-id ID        overrides the detected id\n"
           "  --listen ADDR:PORT    local endpoints /healthz /metrics (default 127.0.0.1:0)\n"
           "  --set KEY=VALUE       any config-file key, e.g. --set backoff_base_s=1\n"
           "  --check-config        load the configuration, say what is wrong or 'ok', exit\n"
           "  --version, --help\n\n" +
           wrapped("Config keys: ", settings::keyNames(settings::Reader::Agent), "  ") +
           wrapped("  (the player's keys ", playerOnly + " are checked too)", "   ") +
           "See docs/configuration.md and docs/sync.md.\n";
}

} // namespace

AgentConfig agentConfigFrom(const settings::Settings &s)
{
    AgentConfig c;
    c.server = s.server;
    c.dataDir = s.dataDir;
    c.trustedKeys = s.trustedKeys;
    c.deviceId = s.deviceId;
    c.listen = s.syncdListen; // one file serves both processes, so each has its own endpoint address
    c.caFile = s.caFile;
    c.tokenFile = s.tokenFile;
    c.backoff.base = s.backoffBase;
    c.backoff.cap = s.backoffCap;
    c.syncInterval = s.syncInterval;
    c.statusInterval = s.statusInterval;
    c.unsupportedRetry = s.unsupportedRetry;
    c.parallelDownloads = int(s.parallelDownloads);
    c.maxDownloadRate = std::int64_t(s.maxDownloadRate);
    c.downloadWindow = s.downloadWindow;
    c.quotaBytes = s.quota;
    c.minFreeBytes = s.minFree;
    c.lowSpeedLimit = long(s.lowSpeedLimit);
    c.lowSpeedTimeS = long(s.lowSpeedTime);
    c.playsBatch = int(std::min<std::int64_t>(s.playsBatch, 10000)); // a bigger batch is one the server may refuse
    c.maxPlayRecords = s.maxPlayRecords;
    c.rebootCommand = s.rebootCommand;
    c.repairInterval = s.repairInterval;
    c.scrubBytesPerSecond = s.scrubRate;
    c.receiveBufferBytes = s.receiveBuffer;
    return c;
}

const char *agentUsage()
{
    static const std::string text = usage();
    return text.c_str();
}

std::expected<AgentConfig, ConfigError> loadAgentConfig(const QStringList &arguments)
{
    settings::Settings s = settings::defaults();
    // The file first (flags win), so find --config before anything else.
    QString file = settings::kDefaultConfigFile;
    bool explicitFile = false;
    for (qsizetype i = 1; i + 1 < arguments.size(); ++i)
        if (arguments[i] == "--config") {
            file = arguments[i + 1];
            explicitFile = true;
        }
    const auto problems = settings::readFile(file, s, settings::Mode::Strict,
                                             explicitFile ? settings::IfMissing::Error : settings::IfMissing::Skip);
    if (!problems.empty())
        return std::unexpected(ConfigError{problems.front().text()});

    static const std::map<QString, std::string_view> flagKeys = {
        {"--data-dir", settings::key::dataDir}, {"--server", settings::key::server},
        {"--trusted-keys", settings::key::trustedKeys}, {"--device-id", settings::key::deviceId},
        {"--listen", settings::key::syncdListen},
    };
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &a = arguments[i];
        if (i + 1 >= arguments.size())
            return std::unexpected(ConfigError{"option " + a.toStdString() + " needs a value (see --help)"});
        const std::string value = arguments[++i].toStdString();
        if (a == "--config")
            continue;
        std::string key;
        std::string v = value;
        if (a == "--set") {
            const auto eq = value.find('=');
            if (eq == std::string::npos)
                return std::unexpected(ConfigError{"--set needs KEY=VALUE, got '" + value + "'"});
            key = value.substr(0, eq);
            v = value.substr(eq + 1);
        } else if (auto it = flagKeys.find(a); it != flagKeys.end()) {
            key = it->second;
        } else {
            return std::unexpected(ConfigError{"unknown option " + a.toStdString() + " (see --help)"});
        }
        if (auto set = settings::setValue(s, key, v); !set)
            return std::unexpected(ConfigError{set.error().text()});
    }
    if (s.server.empty())
        return std::unexpected(ConfigError{"no server configured: give --server URL or 'server =' in " +
                                           file.toStdString()});
    if (auto together = settings::checkTogether(s); !together)
        return std::unexpected(ConfigError{together.error().text()});
    return agentConfigFrom(s);
}

} // namespace stoa::sync
