// sync/config.h — the agent's settings: spec §9 flags over /etc/stoa/stoa.conf.
//
// The file is `key = value` lines; `#` starts a comment; unknown keys are an
// error naming the key and the line (a typo must not silently fall back to a
// default). A flag given on the command line wins over the file. Sizes take
// K/M/G suffixes (powers of 1024); durations are seconds and may be
// fractional (tests run the same code with millisecond backoff).
#pragma once

#include "sync/backoff.h"

#include <QStringList>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace stoa::sync {

struct AgentConfig {
    std::string server;                 // base URL S (http://, https://, file://); required
    std::string dataDir = "/var/lib/stoa";
    std::string trustedKeys = "/etc/stoa/root.pub"; // PEM, one or more root public keys
    std::string deviceId;               // empty: detected (machine id)
    std::string listen = "127.0.0.1:0"; // local endpoints (§8)
    std::string caFile;                 // extra CA bundle
    std::string tokenFile;              // file holding the bearer token
    BackoffPolicy backoff;              // base 5 s, cap 15 min
    Millis syncInterval{60000};         // steady manifest poll; a manifest's settings override it
    Millis statusInterval{60000};       // heartbeat; a manifest's settings override it
    Millis unsupportedRetry{3600000};   // a 404/405/501 on telemetry: ask again this much later
    int parallelDownloads = 3;
    std::int64_t maxDownloadRate = 0;   // bytes/s over all downloads; 0: unlimited
    std::optional<std::pair<int, int>> downloadWindow; // local minutes [from, until); none: always
    std::uint64_t quotaBytes = 0;       // 0: no quota, only the disk floor
    std::uint64_t minFreeBytes = 64u << 20;
    long lowSpeedLimit = 256;           // bytes/s ...
    long lowSpeedTimeS = 30;            // ... for this long aborts a transfer
    int playsBatch = 500;               // proof-of-play records per upload
    std::int64_t maxPlayRecords = 100000;
    std::string rebootCommand;          // run for a `reboot` command; empty: not supported here
    Millis repairInterval{60000};       // how often the active manifest's blobs are checked (nothing staged)
    std::uint64_t scrubBytesPerSecond = 8u << 20; // background re-hashing of stored blobs; 0: off
    std::uint64_t receiveBufferBytes = 256u << 10; // per connection (SO_RCVBUF): what a kill can lose; 0: kernel autotuning
};

struct ConfigError {
    std::string message; // "stoa.conf:12: unknown key 'sever'"
};

// Parses the command line (and the config file it names, or the default one
// if it exists). `--help` and `--version` are handled by the caller.
std::expected<AgentConfig, ConfigError> loadAgentConfig(const QStringList &arguments);

// "HH:MM-HH:MM" -> minutes.
std::optional<std::pair<int, int>> parseWindow(const std::string &text);

const char *agentUsage();

} // namespace stoa::sync
