#include "sync/config.h"

#include <QFile>
#include <QRegularExpression>

#include <cmath>
#include <functional>
#include <map>

namespace stoa::sync {

namespace {

constexpr const char *kDefaultConfig = "/etc/stoa/stoa.conf";

std::optional<std::uint64_t> parseSize(std::string v)
{
    if (v.empty())
        return std::nullopt;
    std::uint64_t mult = 1;
    switch (std::toupper(static_cast<unsigned char>(v.back()))) {
    case 'K': mult = 1024; break;
    case 'M': mult = 1024 * 1024; break;
    case 'G': mult = 1024ull * 1024 * 1024; break;
    default: break;
    }
    if (mult != 1)
        v.pop_back();
    char *end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0')
        return std::nullopt;
    return n * mult;
}

std::optional<Millis> parseSeconds(const std::string &v)
{
    char *end = nullptr;
    const double s = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(s >= 0) || s > 1e7)
        return std::nullopt;
    return Millis(static_cast<std::int64_t>(std::llround(s * 1000)));
}

using Setter = std::function<bool(AgentConfig &, const std::string &)>;

// "ADDR:PORT" or "[v6]:PORT"; the endpoint server does the real parse and
// reports a bind failure, this only catches typos at load time.
bool isListenAddress(const std::string &v)
{
    static const QRegularExpression re(R"(^(\[[0-9A-Fa-f:.]+\]|[0-9.]+|localhost):(\d{1,5})$)");
    const auto m = re.match(QString::fromStdString(v));
    return m.hasMatch() && m.captured(2).toInt() <= 65535;
}

const std::map<std::string, Setter> &setters()
{
    auto str = [](std::string AgentConfig::*field) {
        return Setter([field](AgentConfig &c, const std::string &v) { c.*field = v; return true; });
    };
    auto secs = [](Millis AgentConfig::*field) {
        return Setter([field](AgentConfig &c, const std::string &v) {
            auto s = parseSeconds(v);
            if (s)
                c.*field = *s;
            return bool(s);
        });
    };
    static const std::map<std::string, Setter> table = {
        {"server", str(&AgentConfig::server)},
        {"data_dir", str(&AgentConfig::dataDir)},
        {"trusted_keys", str(&AgentConfig::trustedKeys)},
        {"device_id", str(&AgentConfig::deviceId)},
        // One file serves both processes, so each has its own endpoint address.
        {"syncd_listen", Setter([](AgentConfig &c, const std::string &v) {
             c.listen = v;
             return isListenAddress(v);
         })},
        {"ca_file", str(&AgentConfig::caFile)},
        {"token_file", str(&AgentConfig::tokenFile)},
        {"reboot_command", str(&AgentConfig::rebootCommand)},
        {"sync_interval_s", secs(&AgentConfig::syncInterval)},
        {"status_interval_s", secs(&AgentConfig::statusInterval)},
        {"unsupported_retry_s", secs(&AgentConfig::unsupportedRetry)},
        {"repair_interval_s", secs(&AgentConfig::repairInterval)},
        {"receive_buffer", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n)
                 c.receiveBufferBytes = *n;
             return n && *n <= (64u << 20);
         })},
        {"scrub_rate", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n)
                 c.scrubBytesPerSecond = *n;
             return bool(n);
         })},
        {"backoff_base_s", Setter([](AgentConfig &c, const std::string &v) {
             auto s = parseSeconds(v);
             if (s)
                 c.backoff.base = *s;
             return s && s->count() > 0;
         })},
        {"backoff_cap_s", Setter([](AgentConfig &c, const std::string &v) {
             auto s = parseSeconds(v);
             if (s)
                 c.backoff.cap = *s;
             return s && s->count() > 0;
         })},
        {"parallel_downloads", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n && *n >= 1 && *n <= 16)
                 c.parallelDownloads = int(*n);
             return n && *n >= 1 && *n <= 16;
         })},
        {"max_download_rate", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n)
                 c.maxDownloadRate = std::int64_t(*n);
             return bool(n);
         })},
        {"download_window", Setter([](AgentConfig &c, const std::string &v) {
             c.downloadWindow = parseWindow(v);
             return v.empty() || c.downloadWindow.has_value();
         })},
        {"quota", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n)
                 c.quotaBytes = *n;
             return bool(n);
         })},
        {"min_free", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n)
                 c.minFreeBytes = *n;
             return bool(n);
         })},
        {"low_speed_limit", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n)
                 c.lowSpeedLimit = long(*n);
             return bool(n);
         })},
        {"low_speed_time_s", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n && *n > 0)
                 c.lowSpeedTimeS = long(*n);
             return n && *n > 0;
         })},
        {"plays_batch", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n && *n > 0)
                 c.playsBatch = int(std::min<std::uint64_t>(*n, 10000));
             return n && *n > 0;
         })},
        // The player's keys share /etc/stoa/stoa.conf: checked here (so a bad
        // value is reported), used there.
        {"player_listen", Setter([](AgentConfig &, const std::string &v) { return isListenAddress(v); })},
        {"display_power", Setter([](AgentConfig &, const std::string &v) {
             return v == "none" || v == "drm" || v == "vcgencmd" || v == "cec";
         })},
        {"rotation", Setter([](AgentConfig &, const std::string &v) {
             return v == "0" || v == "90" || v == "180" || v == "270";
         })},
        {"fade_ms", Setter([](AgentConfig &, const std::string &v) {
             auto n = parseSize(v);
             return n && *n <= 10000;
         })},
        // `qt` is retired (the player plays it with `pipeline`) but still valid.
        {"video_engine", Setter([](AgentConfig &, const std::string &v) { return v == "pipeline" || v == "qt"; })},
        {"web", Setter([](AgentConfig &, const std::string &v) { return v == "on" || v == "off"; })},
        {"max_play_records", Setter([](AgentConfig &c, const std::string &v) {
             auto n = parseSize(v);
             if (n && *n > 0)
                 c.maxPlayRecords = std::int64_t(*n);
             return n && *n > 0;
         })},
    };
    return table;
}

std::expected<void, ConfigError> applyFile(AgentConfig &c, const QString &path, bool mustExist)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (!mustExist && !f.exists())
            return {};
        return std::unexpected(ConfigError{path.toStdString() + ": cannot read: " + f.errorString().toStdString()});
    }
    int lineNo = 0;
    while (!f.atEnd()) {
        ++lineNo;
        QString line = QString::fromUtf8(f.readLine());
        if (const auto hash = line.indexOf('#'); hash >= 0)
            line.truncate(hash);
        line = line.trimmed();
        if (line.isEmpty())
            continue;
        const auto eq = line.indexOf('=');
        const std::string where = path.toStdString() + ":" + std::to_string(lineNo) + ": ";
        if (eq <= 0)
            return std::unexpected(ConfigError{where + "expected 'key = value'"});
        const std::string key = line.left(eq).trimmed().toStdString();
        const std::string value = line.mid(eq + 1).trimmed().toStdString();
        const auto it = setters().find(key);
        if (it == setters().end())
            return std::unexpected(ConfigError{where + "unknown key '" + key + "'"});
        if (!it->second(c, value))
            return std::unexpected(ConfigError{where + "bad value for '" + key + "': '" + value + "'"});
    }
    return {};
}

} // namespace

std::optional<std::pair<int, int>> parseWindow(const std::string &text)
{
    static const QRegularExpression re("^([01]\\d|2[0-3]):([0-5]\\d)-([01]\\d|2[0-3]):([0-5]\\d)$");
    const auto m = re.match(QString::fromStdString(text));
    if (!m.hasMatch())
        return std::nullopt;
    return std::pair{m.captured(1).toInt() * 60 + m.captured(2).toInt(),
                     m.captured(3).toInt() * 60 + m.captured(4).toInt()};
}

const char *agentUsage()
{
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
           "  --version, --help\n\n"
           "Config keys: server data_dir trusted_keys device_id syncd_listen ca_file token_file\n"
           "  sync_interval_s status_interval_s unsupported_retry_s backoff_base_s backoff_cap_s\n"
           "  parallel_downloads max_download_rate download_window quota min_free\n"
           "  low_speed_limit low_speed_time_s plays_batch max_play_records reboot_command\n"
           "  repair_interval_s scrub_rate receive_buffer\n"
           "  (the player's keys player_listen rotation fade_ms display_power video_engine web\n"
           "   are checked too)\n"
           "See docs/sync.md.\n";
}

std::expected<AgentConfig, ConfigError> loadAgentConfig(const QStringList &arguments)
{
    AgentConfig c;
    // The file first (flags win), so find --config before anything else.
    QString file = kDefaultConfig;
    bool explicitFile = false;
    for (qsizetype i = 1; i + 1 < arguments.size(); ++i)
        if (arguments[i] == "--config") {
            file = arguments[i + 1];
            explicitFile = true;
        }
    if (auto ok = applyFile(c, file, explicitFile); !ok)
        return std::unexpected(ok.error());

    static const std::map<QString, std::string> flagKeys = {
        {"--data-dir", "data_dir"}, {"--server", "server"}, {"--trusted-keys", "trusted_keys"},
        {"--device-id", "device_id"}, {"--listen", "syncd_listen"},
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
        const auto s = setters().find(key);
        if (s == setters().end())
            return std::unexpected(ConfigError{"unknown config key '" + key + "'"});
        if (!s->second(c, v))
            return std::unexpected(ConfigError{"bad value for '" + key + "': '" + v + "'"});
    }
    if (c.server.empty())
        return std::unexpected(ConfigError{"no server configured: give --server URL or 'server =' in " +
                                           file.toStdString()});
    if (c.backoff.cap < c.backoff.base)
        return std::unexpected(ConfigError{"backoff_cap_s is below backoff_base_s"});
    return c;
}

} // namespace stoa::sync
