// settings/keys.cpp — the key table (see keys.h).
#include "settings/keys.h"

#include "settings/values.h"

#include <QString>

#include <array>
#include <cstdlib>
#include <type_traits>

namespace stoa::settings {

namespace {

using S = Settings;
constexpr std::int64_t kMs = 1000; // one second, in the unit of Seconds ranges
constexpr std::int64_t kMiB = 1 << 20;

// clang-format off
const std::array kTable = {
    // The agent's (and the player shows server and quota; both read the store's place and identity).
    Key{key::server, Reader::Both, Type::Url, "", "base URL S of the backend: https://, http:// or file:// (a USB stick); the player only shows it", &S::server},
    Key{key::dataDir, Reader::Both, Type::Path, "/var/lib/stoa", "the store", &S::dataDir},
    Key{key::trustedKeys, Reader::Both, Type::Path, "/etc/stoa/root.pub", "PEM file with one or more root public keys", &S::trustedKeys},
    Key{key::deviceId, Reader::Both, Type::String, "", "the device id (1-64 of [A-Za-z0-9._-]); empty: detected (/etc/machine-id)", &S::deviceId},
    Key{key::syncdListen, Reader::Agent, Type::Address, "127.0.0.1:0", "the agent's local endpoints /healthz /metrics /status", &S::syncdListen},
    Key{key::caFile, Reader::Agent, Type::Path, "", "extra CA bundle for TLS; empty: the system store", &S::caFile},
    Key{key::tokenFile, Reader::Agent, Type::Path, "", "file holding the bearer token (never logged); empty: none", &S::tokenFile},
    Key{key::syncInterval, Reader::Agent, Type::Seconds, "60", "steady manifest poll (±10 % jitter); a manifest's settings override it", &S::syncInterval},
    Key{key::statusInterval, Reader::Agent, Type::Seconds, "60", "heartbeat and plays upload interval (±10 %); a manifest's settings override it", &S::statusInterval},
    Key{key::unsupportedRetry, Reader::Agent, Type::Seconds, "3600", "telemetry retry after a static server's 404/405/501", &S::unsupportedRetry},
    Key{key::backoffBase, Reader::Agent, Type::Seconds, "5", "full-jitter exponential backoff: ceiling of the first retry", &S::backoffBase, 1},
    Key{key::backoffCap, Reader::Agent, Type::Seconds, "900", "the device's maximum backoff: bounds every wait, Retry-After included (not below backoff_base_s)", &S::backoffCap, 1},
    Key{key::parallelDownloads, Reader::Agent, Type::Int, "3", "blobs fetched at once", &S::parallelDownloads, 1, 16},
    Key{key::maxDownloadRate, Reader::Agent, Type::Size, "0", "bytes/s over all downloads; 0: unlimited", &S::maxDownloadRate},
    Key{key::downloadWindow, Reader::Agent, Type::TimeWindow, "", "local time (by the trusted clock) when downloads may run, may wrap midnight; empty: always", &S::downloadWindow},
    Key{key::quota, Reader::Both, Type::Size, "0", "the store's byte quota; 0: none, only the free-disk floor (the player shows usage against it)", &S::quota},
    Key{key::minFree, Reader::Agent, Type::Size, "64M", "free-disk floor the store never goes below", &S::minFree},
    Key{key::lowSpeedLimit, Reader::Agent, Type::Size, "256", "a transfer slower than this many bytes/s ...", &S::lowSpeedLimit},
    Key{key::lowSpeedTime, Reader::Agent, Type::Int, "30", "... for this many seconds is aborted", &S::lowSpeedTime, 1},
    Key{key::playsBatch, Reader::Agent, Type::Int, "500", "proof-of-play records per upload (above 10000: 10000)", &S::playsBatch, 1},
    Key{key::maxPlayRecords, Reader::Agent, Type::Int, "100000", "cap on proof-of-play records kept on disk", &S::maxPlayRecords, 1},
    Key{key::rebootCommand, Reader::Agent, Type::String, "", "what a `reboot` command runs; empty: not supported here", &S::rebootCommand},
    Key{key::repairInterval, Reader::Agent, Type::Seconds, "60", "how often the active manifest's blobs are checked (nothing staged)", &S::repairInterval},
    Key{key::scrubRate, Reader::Agent, Type::Size, "8M", "bytes/s of background re-hashing of stored blobs; 0: off", &S::scrubRate},
    Key{key::receiveBuffer, Reader::Agent, Type::Size, "256K", "per connection (SO_RCVBUF): what a kill can lose; 0: kernel autotuning", &S::receiveBuffer, 0, 64 * kMiB},
    // The player's.
    Key{key::playerListen, Reader::Player, Type::Address, "127.0.0.1:0", "the player's local endpoints /healthz /metrics /status", &S::playerListen},
    Key{key::rotation, Reader::Player, Type::Int, "0", "degrees clockwise; a manifest's settings override it", &S::rotation, 0, 270, 90},
    Key{key::fadeMs, Reader::Player, Type::Milliseconds, "0", "cross-fade for items without their own fade_ms; 0: hard cut", &S::fadeMs, 0, 10 * kMs},
    Key{key::displayPower, Reader::Player, Type::Enum, "none", "how the screen is switched off and on (docs/platform.md); none: not configured", &S::displayPower, 0, 0, 1, kDisplayPowerNames},
    Key{key::videoEngine, Reader::Player, Type::Enum, "pipeline", "the player's GStreamer pipelines; qt (retired) plays as pipeline", &S::videoEngine, 0, 0, 1, kVideoEngineNames},
    Key{key::web, Reader::Player, Type::Bool, "on", "play web items (when built with QtWebEngine; docs/web.md)", &S::web},
    Key{key::hubConsoleUrl, Reader::Player, Type::Url, "", "the hub console's address (https://hub.example/console/): the diagnostics QR code opens this device's page there; empty: the QR code holds the device id", &S::hubConsoleUrl},
};
// clang-format on

std::string sizeText(std::int64_t bytes)
{
    for (const auto &[unit, mult] : {std::pair{'G', std::int64_t(1) << 30}, std::pair{'M', kMiB}, std::pair{'K', std::int64_t(1) << 10}})
        if (bytes != 0 && bytes % mult == 0)
            return std::to_string(bytes / mult) + unit;
    return std::to_string(bytes);
}

std::string secondsText(std::int64_t ms)
{
    return QString::number(double(ms) / kMs).toStdString(); // 0.001, not 0.001000
}

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();

bool inRange(const Key &k, std::int64_t v)
{
    return v >= k.min && v <= k.max && (v - k.min) % k.step == 0;
}

} // namespace

std::span<const Key> keys()
{
    return kTable;
}

const Key *findKey(std::string_view name)
{
    for (const Key &k : kTable)
        if (k.name == name)
            return &k;
    return nullptr;
}

const Settings &defaults()
{
    static const Settings d = [] {
        Settings s;
        for (const Key &k : kTable)
            if (!assign(k, k.defaultText, s))
                std::abort(); // a broken table; tests/settings parses every default
        return s;
    }();
    return d;
}

std::string_view readerName(Reader reader)
{
    switch (reader) {
    case Reader::Agent: return "agent";
    case Reader::Player: return "player";
    case Reader::Both: return "both";
    }
    return "?";
}

std::string typeName(const Key &k)
{
    auto range = [&k](auto show) {
        if (k.min == 0 && k.max == kNoMax)
            return std::string();
        if (k.max == kNoMax)
            return ", at least " + show(k.min);
        return ", " + show(k.min) + "–" + show(k.max);
    };
    auto plain = [](std::int64_t v) { return std::to_string(v); };
    switch (k.type) {
    case Type::String: return "string";
    case Type::Path: return "path";
    case Type::Url: return "URL";
    case Type::Address: return "ADDR:PORT";
    case Type::Bool: return "on/off";
    case Type::Int:
        if (k.step != 1) {
            std::string s = "one of:";
            for (std::int64_t v = k.min; v <= k.max; v += k.step)
                s += " " + std::to_string(v);
            return s;
        }
        return "integer" + range(plain);
    case Type::Size: return "size (K/M/G)" + range(sizeText);
    case Type::Seconds: return "seconds" + range(secondsText);
    case Type::Milliseconds: return "milliseconds" + range(plain);
    case Type::TimeWindow: return "HH:MM-HH:MM";
    case Type::Enum: {
        std::string s = "one of:";
        for (std::string_view c : k.choices)
            s += " " + std::string(c);
        return s;
    }
    }
    return "?";
}

std::expected<void, std::string> assign(const Key &k, std::string_view text, Settings &into)
{
    const bool emptyOk = k.defaultText.empty();
    auto set = [&](auto value) -> std::expected<void, std::string> {
        std::visit([&](auto member) {
            using Member = std::remove_cvref_t<decltype(into.*member)>;
            if constexpr (std::is_same_v<Member, std::remove_cvref_t<decltype(value)>>)
                into.*member = value;
            else
                std::abort(); // a table row whose type does not fit its field; tests/settings assigns each key
        }, k.field);
        return {};
    };
    auto rangeError = [&] { return std::unexpected(typeName(k)); };
    switch (k.type) {
    case Type::String:
    case Type::Path:
        if (text.empty() && !emptyOk)
            return std::unexpected(std::string("a non-empty ") + (k.type == Type::Path ? "path" : "string"));
        return set(std::string(text));
    case Type::Url:
        if ((text.empty() && !emptyOk) || text.find_first_of(" \t") != std::string_view::npos)
            return std::unexpected(std::string("a URL without spaces"));
        return set(std::string(text));
    case Type::Address:
        if (auto ok = checkAddress(text); !ok)
            return std::unexpected(ok.error());
        return set(std::string(text));
    case Type::Bool: {
        auto v = parseOnOff(text);
        if (!v)
            return std::unexpected(v.error());
        return set(*v);
    }
    case Type::Int: {
        auto v = parseInt(text);
        if (!v)
            return std::unexpected(v.error() + " (" + typeName(k) + ")");
        if (!inRange(k, *v))
            return rangeError();
        return set(*v);
    }
    case Type::Size: {
        auto v = parseSize(text);
        if (!v)
            return std::unexpected(v.error());
        if (*v > std::uint64_t(k.max) || std::int64_t(*v) < k.min)
            return rangeError();
        return set(*v);
    }
    case Type::Seconds:
    case Type::Milliseconds: {
        auto v = k.type == Type::Seconds ? parseSeconds(text) : parseMillis(text);
        if (!v)
            return std::unexpected(v.error());
        if (!inRange(k, v->count()))
            return rangeError();
        return set(*v);
    }
    case Type::TimeWindow: {
        if (text.empty())
            return set(std::optional<Window>());
        auto v = parseWindow(text);
        if (!v)
            return std::unexpected(v.error());
        return set(std::optional<Window>(*v));
    }
    case Type::Enum:
        for (std::size_t i = 0; i < k.choices.size(); ++i)
            if (k.choices[i] == text) {
                if (std::holds_alternative<DisplayPower Settings::*>(k.field))
                    return set(static_cast<DisplayPower>(i));
                return set(static_cast<VideoEngine>(i));
            }
        return rangeError();
    }
    return rangeError();
}

} // namespace stoa::settings
