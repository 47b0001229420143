// sync/config.h — the agent's settings: spec §9 flags over /etc/stoa/stoa.conf.
//
// The file is read by settings/ (the one table of keys, strict mode): an
// unknown key or a bad value is an error naming the file, line and key (a
// typo must not silently fall back to a default); the player's keys are
// known there, so the shared file is never an error for them. A flag given
// on the command line wins over the file. Here the agent only maps its
// flags to keys and takes its keys from the parsed `settings::Settings`.
#pragma once

#include "settings/keys.h"
#include "sync/backoff.h"

#include <QStringList>

#include <algorithm>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace stoa::sync {

// Defaults are the key table's (settings/keys.h), so code that builds an
// AgentConfig by hand (tests, the demo) gets what an empty file gives.
struct AgentConfig {
    std::string server = settings::defaults().server; // base URL S (http://, https://, file://); required
    std::string dataDir = settings::defaults().dataDir;
    std::string trustedKeys = settings::defaults().trustedKeys; // PEM, one or more root public keys
    std::string deviceId = settings::defaults().deviceId;       // empty: detected (machine id)
    std::string listen = settings::defaults().syncdListen;      // local endpoints (§8)
    std::string caFile = settings::defaults().caFile;           // extra CA bundle
    std::string tokenFile = settings::defaults().tokenFile;     // file holding the bearer token
    BackoffPolicy backoff = [] {
        BackoffPolicy b;
        b.base = settings::defaults().backoffBase;
        b.cap = settings::defaults().backoffCap;
        return b;
    }();
    Millis syncInterval = settings::defaults().syncInterval;     // steady manifest poll; a manifest's settings override it
    Millis statusInterval = settings::defaults().statusInterval; // heartbeat; a manifest's settings override it
    Millis unsupportedRetry = settings::defaults().unsupportedRetry; // a 404/405/501 on telemetry: ask again this much later
    int parallelDownloads = int(settings::defaults().parallelDownloads);
    std::int64_t maxDownloadRate = std::int64_t(settings::defaults().maxDownloadRate); // bytes/s over all downloads; 0: unlimited
    std::optional<std::pair<int, int>> downloadWindow = settings::defaults().downloadWindow; // local minutes [from, until); none: always
    std::uint64_t quotaBytes = settings::defaults().quota; // 0: no quota, only the disk floor
    std::uint64_t minFreeBytes = settings::defaults().minFree;
    long lowSpeedLimit = long(settings::defaults().lowSpeedLimit); // bytes/s ...
    long lowSpeedTimeS = long(settings::defaults().lowSpeedTime);  // ... for this long aborts a transfer
    int playsBatch = int(settings::defaults().playsBatch);        // proof-of-play records per upload
    std::int64_t maxPlayRecords = settings::defaults().maxPlayRecords;
    std::string rebootCommand = settings::defaults().rebootCommand; // run for a `reboot` command; empty: not supported here
    Millis repairInterval = settings::defaults().repairInterval;   // how often the active manifest's blobs are checked (nothing staged)
    std::uint64_t scrubBytesPerSecond = settings::defaults().scrubRate;   // background re-hashing of stored blobs; 0: off
    std::uint64_t receiveBufferBytes = settings::defaults().receiveBuffer; // per connection (SO_RCVBUF): what a kill can lose; 0: kernel autotuning
};

struct ConfigError {
    std::string message; // "stoa.conf:12: unknown key 'sever'" (settings::SettingsError::text())
};

// Parses the command line (and the config file it names, or the default one
// if it exists). `--help` and `--version` are handled by the caller.
std::expected<AgentConfig, ConfigError> loadAgentConfig(const QStringList &arguments);

// The agent's keys, taken from a parsed file (and flags).
AgentConfig agentConfigFrom(const settings::Settings &settings);

const char *agentUsage();

} // namespace stoa::sync
