// tests/hub/device_processes.h — the real programs of a Stoa deployment as
// child processes, for tst_devices: `stoa-hub serve` (its operators made with
// its own command line), and a device: `stoa-syncd` and `stoa-player` on one
// data directory with one config file, as a Pi runs them.
//
// Job: start them, find the ports they serve on (their "serving
// http://127.0.0.1:PORT" log line), stop them, and keep what they wrote
// (stdout and stderr, merged, in one file each) so a failing test can show
// it (logs()).
// Invariants:
//  - a child's output goes to a file, never to a pipe nobody reads;
//  - a child still running when its owner goes is killed and reaped;
//  - every wait is a poll against a deadline.
#pragma once

#include "test_files.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>
#include <QTest>

#include <functional>
#include <optional>
#include <string>
#include <tuple>

namespace stoa::hub::test {

using stoa::testing::readFile;  // tests/harness/test_files.h
using stoa::testing::writeFile; // (the test cannot go on without the file: qFatal)

// The children's environment: info lines on (the "serving" line is one),
// the plain log format whatever the test runs under.
inline QProcessEnvironment childEnvironment()
{
    auto env = QProcessEnvironment::systemEnvironment();
    env.remove("JOURNAL_STREAM");
    env.insert("QT_LOGGING_RULES", "*.debug=false");
    return env;
}

// Polls `condition` (the event loop runs between polls) until it holds or
// `timeoutMs` passes.
inline bool waitUntil(const std::function<bool()> &condition, int timeoutMs, int pollMs = 50)
{
    const QDeadlineTimer deadline(timeoutMs);
    for (;;) {
        if (condition())
            return true;
        if (deadline.hasExpired())
            return false;
        QTest::qWait(pollMs);
    }
}

// One long-running child; its output (both channels) goes to `logPath`.
class ChildProcess {
public:
    ChildProcess(QString name, QString logPath) : m_name(std::move(name)), m_logPath(std::move(logPath)) {}
    ~ChildProcess() { kill(); }
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;

    // Empty once started; else why not.
    QString start(const QString &program, const QStringList &args,
                  const QProcessEnvironment &env = childEnvironment())
    {
        m_started = true;
        m_process.setProcessEnvironment(env);
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.setStandardOutputFile(m_logPath, QIODevice::Append);
        m_process.start(program, args);
        if (!m_process.waitForStarted(30000))
            return m_name + " did not start: " + m_process.errorString();
        return {};
    }

    bool running() const { return m_process.state() != QProcess::NotRunning; }

    // The port of its "serving http://127.0.0.1:PORT" line; 0 until logged.
    quint16 servingPort() const
    {
        if (m_port == 0) {
            static const QRegularExpression serving(QStringLiteral(R"(serving http://127\.0\.0\.1:(\d+))"));
            const auto m = serving.match(QString::fromLocal8Bit(readFile(m_logPath)));
            m_port = m.hasMatch() ? m.captured(1).toUShort() : 0;
        }
        return m_port;
    }

    // Waits for the serving line; empty when seen, else why not.
    QString waitServing(int timeoutMs = 30000) const
    {
        if (waitUntil([&] { return servingPort() != 0 || !running(); }, timeoutMs) && servingPort() != 0)
            return {};
        return m_name + (running() ? " logged no 'serving http://127.0.0.1:PORT' line in time"
                                   : QStringLiteral(" exited (%1) before serving").arg(m_process.exitCode()));
    }

    // SIGTERM; the exit code, or -1 when it crashed or did not stop in time.
    int terminate(int timeoutMs = 20000)
    {
        if (!running())
            return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
        m_process.terminate();
        if (!m_process.waitForFinished(timeoutMs) || m_process.exitStatus() != QProcess::NormalExit)
            return -1;
        return m_process.exitCode();
    }

    void kill()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.kill();
        m_process.waitForFinished(10000);
    }

    QString output() const { return QString::fromLocal8Bit(readFile(m_logPath)); }
    // The last `lines` lines, headed by the name, for failure reports.
    QString tail(int lines = 60) const
    {
        const auto all = output().split('\n');
        const QString state = !m_started ? QStringLiteral("not started")
                              : running() ? QStringLiteral("running")
                                          : QStringLiteral("exited, status %1, code %2")
                                              .arg(m_process.exitStatus() == QProcess::NormalExit ? "normal" : "crash")
                                              .arg(m_process.exitCode());
        return QStringLiteral("----- %1 (%2), last %3 lines of %4:\n").arg(m_name, state).arg(lines).arg(m_logPath)
               + all.mid(std::max<qsizetype>(0, all.size() - lines)).join('\n');
    }
    const QString &name() const { return m_name; }

private:
    QString m_name;
    QString m_logPath;
    bool m_started = false;
    mutable quint16 m_port = 0; // once logged (one start per object)
    QProcess m_process;
};

// One maintenance command of a program, run to its end.
struct CommandRun {
    int exitCode = -1; // -1: crashed, timed out or did not start
    QString out, err;

    QString lastLine() const
    {
        const auto lines = out.split('\n', Qt::SkipEmptyParts);
        return lines.isEmpty() ? QString() : lines.last();
    }
    QString describe() const { return QStringLiteral("exit %1\nstdout:\n%2\nstderr:\n%3").arg(exitCode).arg(out, err); }
};

inline CommandRun runCommand(const QString &program, const QStringList &args)
{
    CommandRun r;
    QProcess p;
    p.setProcessEnvironment(childEnvironment());
    p.start(program, args);
    if (!p.waitForStarted(30000))
        return r;
    if (!p.waitForFinished(30000)) {
        p.kill();
        p.waitForFinished(10000);
    } else if (p.exitStatus() == QProcess::NormalExit) {
        r.exitCode = p.exitCode();
    }
    r.out = QString::fromLocal8Bit(p.readAllStandardOutput());
    r.err = QString::fromLocal8Bit(p.readAllStandardError());
    return r;
}

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

class Device {
    QString m_dir;

public:
    // Everything lives under `dir`: data/, stoa.conf, token, root.pub, logs.
    explicit Device(const QString &dir)
        : m_dir(dir), syncd("stoa-syncd", dir + "/syncd.log"), player("stoa-player", dir + "/player.log")
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
        if (auto e = syncd.start(QStringLiteral(STOA_SYNCD), {"--config", configPath()}); !e.isEmpty())
            return e;
        if (auto e = syncd.waitServing(); !e.isEmpty())
            return e;
        // Under Xvfb (run-xvfb.sh gave us DISPLAY and QT_QPA_PLATFORM=xcb)
        // the player shows real frames; without a display, offscreen.
        auto env = childEnvironment();
        if (env.value("DISPLAY").isEmpty())
            env.insert("QT_QPA_PLATFORM", "offscreen");
        // Under ASan: the player's media stack (GStreamer, PulseAudio, D-Bus,
        // Mesa) leaks at exit by design, as for tests/player's pixel tests;
        // our own processes keep leak detection.
        if (env.contains("ASAN_OPTIONS"))
            env.insert("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1");
        if (auto e = player.start(QStringLiteral(STOA_PLAYER), {"--config", configPath(), "--windowed"}, env);
            !e.isEmpty())
            return e;
        return player.waitServing(60000);
    }

    quint16 playerPort() const { return player.servingPort(); }
    quint16 syncdPort() const { return syncd.servingPort(); }

    QString logs() const { return syncd.tail() + "\n" + player.tail(); }

    ChildProcess syncd;
    ChildProcess player;
};

// `stoa-hub serve` on a free loopback port over `database` ("" : SQLite in
// its data directory), with an admin and an editor made by its own command
// line (`stoa-hub operator add`, tokens on the last line of stdout).
class HubProcess {
    QString m_dir;
    std::string m_database;

public:
    HubProcess(const QString &dir, std::string database)
        : m_dir(dir), m_database(std::move(database)), serve("stoa-hub", dir + "/hub.log")
    {
    }

    QString dataDir() const { return m_dir + "/data"; }

    // Empty once it serves, else why not.
    QString start()
    {
        auto withData = [&](QStringList args) {
            args << "--data-dir" << dataDir();
            if (!m_database.empty())
                args << "--database" << QString::fromStdString(m_database);
            return args;
        };
        // (The maintenance commands do not create the data directory; serve does.)
        if (!QDir().mkpath(dataDir()))
            return "cannot create " + dataDir();
        for (auto [name, role, token] : {std::tuple{"ada", "admin", &admin}, std::tuple{"eve", "editor", &editor}}) {
            const auto r = runCommand(QStringLiteral(STOA_HUB_BIN), withData({"operator", "add", name, "--role", role}));
            if (r.exitCode != 0 || r.lastLine().isEmpty())
                return QStringLiteral("stoa-hub operator add %1: ").arg(name) + r.describe();
            *token = r.lastLine().trimmed().toStdString();
        }
        if (auto e = serve.start(QStringLiteral(STOA_HUB_BIN), withData({"serve", "--listen", "127.0.0.1:0"})); !e.isEmpty())
            return e;
        if (auto e = serve.waitServing(); !e.isEmpty())
            return e + "\n" + serve.tail();
        base = "http://127.0.0.1:" + std::to_string(serve.servingPort());
        return {};
    }

    std::string base;          // http://127.0.0.1:PORT
    std::string admin, editor; // operator tokens
    ChildProcess serve;
};

} // namespace stoa::hub::test
