// tests/hub/device_processes.h — the real programs of a Stoa deployment as
// child processes, for tst_devices: `stoa-hub serve` (its operators made with
// its own command line), and a device: `stoa-syncd` and `stoa-player` on one
// data directory with one config file, as a Pi runs them.
//
// Job: the deployment's set-up (config file, token, root key, operators);
// each process is a tests/harness Daemon (its output in one file, the port
// of its "serving" line, SIGTERM or SIGKILL), each command line run a
// tests/harness runProgram.
// Invariants:
//  - a child's output goes to a file, never to a pipe nobody reads;
//  - a child still running when its owner goes is killed and reaped;
//  - every wait is a poll against a deadline.
#pragma once

#include "daemon.h"
#include "program_run.h"
#include "test_files.h"

#include <QDir>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <chrono>
#include <string>
#include <tuple>

namespace stoa::hub::test {

using stoa::testing::Daemon;
using stoa::testing::readFile;  // tests/harness/test_files.h
using stoa::testing::writeFile; // (the test cannot go on without the file: qFatal)

// A device: the agent and the player on one data directory, one config file
// (the way packaging installs them), the hub's device token in token_file
// and the hub's signing key as the root key.
struct DeviceOptions {
    QString deviceId;
    QString server;          // the base URL S
    QByteArray token;        // the hub's device token
    QByteArray rootPem;      // trusted root key(s), PEM
    QString syncInterval;    // sync_interval_s
    QString statusInterval;  // status_interval_s
    QStringList extra;       // more `key = value` lines for the config file
};

// The player's environment: under Xvfb (run-xvfb.sh gave us DISPLAY and
// QT_QPA_PLATFORM=xcb) it shows real frames; without a display, offscreen.
// Under ASan its media stack (GStreamer, PulseAudio, D-Bus, Mesa) leaks at
// exit by design, as for tests/player's pixel tests; our own processes keep
// leak detection.
inline QProcessEnvironment playerChildEnvironment()
{
    auto env = stoa::testing::stoaChildEnvironment();
    if (env.value("DISPLAY").isEmpty())
        env.insert("QT_QPA_PLATFORM", "offscreen");
    if (env.contains("ASAN_OPTIONS"))
        env.insert("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1");
    return env;
}

class Device {
    QString m_dir;

public:
    // Everything lives under `dir`: data/, stoa.conf, token, root.pub, logs.
    explicit Device(const QString &dir)
        : m_dir(dir),
          syncd(QStringLiteral(STOA_SYNCD), {"--config", configPath()}, dir + "/syncd.log",
                stoa::testing::stoaChildEnvironment()),
          player(QStringLiteral(STOA_PLAYER), {"--config", configPath(), "--windowed"}, dir + "/player.log",
                 playerChildEnvironment())
    {
    }

    QString dataDir() const { return m_dir + "/data"; }
    QString configPath() const { return m_dir + "/stoa.conf"; }

    // Writes the config and starts stoa-syncd, then stoa-player; empty once
    // both serve their local endpoints, else why not.
    QString start(const DeviceOptions &o)
    {
        writeFile(m_dir + "/token", o.token + "\n");
        writeFile(m_dir + "/root.pub", o.rootPem);
        QStringList conf = {
            "# one file for both processes, as packaging installs it",
            "server = " + o.server,
            "data_dir = " + dataDir(),
            "trusted_keys = " + m_dir + "/root.pub",
            "token_file = " + m_dir + "/token",
            "device_id = " + o.deviceId,
            "sync_interval_s = " + o.syncInterval,
            "status_interval_s = " + o.statusInterval,
            "backoff_base_s = 0.2",
            "backoff_cap_s = 2",
            "min_free = 0",
            "scrub_rate = 0",
            "syncd_listen = 127.0.0.1:0",
            "player_listen = 127.0.0.1:0",
        };
        conf += o.extra;
        writeFile(configPath(), conf.join('\n').toUtf8() + "\n");
        using namespace std::chrono_literals;
        if (!syncd.start())
            return "stoa-syncd did not start: " + syncd.errorString();
        if (!syncd.waitServing(30s))
            return "stoa-syncd logged no 'serving http://127.0.0.1:PORT' line in time\n" + syncd.report();
        if (!player.start())
            return "stoa-player did not start: " + player.errorString();
        if (!player.waitServing(60s))
            return "stoa-player logged no 'serving http://127.0.0.1:PORT' line in time\n" + player.report();
        return {};
    }

    quint16 playerPort() const { return player.servingPort(); }
    quint16 syncdPort() const { return syncd.servingPort(); }

    QString logs() const { return syncd.report() + "\n" + player.report(); }

    Daemon syncd;
    Daemon player;
};

// `stoa-hub serve` on a free loopback port over `database` ("" : SQLite in
// its data directory), with an admin and an editor made by its own command
// line (`stoa-hub operator add`, tokens on the last line of stdout).
class HubProcess {
    QString m_dir;
    std::string m_database;

    QStringList withData(QStringList args) const
    {
        args << "--data-dir" << dataDir();
        if (!m_database.empty())
            args << "--database" << QString::fromStdString(m_database);
        return args;
    }

public:
    HubProcess(const QString &dir, std::string database)
        : m_dir(dir), m_database(std::move(database)),
          serve(QStringLiteral(STOA_HUB_BIN), withData({"serve", "--listen", "127.0.0.1:0"}), dir + "/hub.log",
                stoa::testing::stoaChildEnvironment())
    {
    }

    QString dataDir() const { return m_dir + "/data"; }

    // Empty once it serves, else why not.
    QString start()
    {
        // (The maintenance commands do not create the data directory; serve does.)
        if (!QDir().mkpath(dataDir()))
            return "cannot create " + dataDir();
        for (auto [name, role, token] : {std::tuple{"ada", "admin", &admin}, std::tuple{"eve", "editor", &editor}}) {
            const auto r = stoa::testing::runProgram(QStringLiteral(STOA_HUB_BIN),
                                                     withData({"operator", "add", name, "--role", role}));
            if (r.exitCode != 0 || r.lastLine().isEmpty())
                return QStringLiteral("stoa-hub operator add %1: ").arg(name) + QString::fromLocal8Bit(r.describe());
            *token = r.lastLine().trimmed().toStdString();
        }
        using namespace std::chrono_literals;
        if (!serve.start())
            return "stoa-hub did not start: " + serve.errorString();
        if (!serve.waitServing(30s))
            return "stoa-hub logged no 'serving http://127.0.0.1:PORT' line in time\n" + serve.report();
        base = "http://127.0.0.1:" + std::to_string(serve.servingPort());
        return {};
    }

    std::string base;          // http://127.0.0.1:PORT
    std::string admin, editor; // operator tokens
    Daemon serve;
};

} // namespace stoa::hub::test
