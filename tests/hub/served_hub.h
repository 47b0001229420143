// tests/hub/served_hub.h — `stoa-hub serve` as a child process, and its
// command line run to the end, for the tests that drive the real executable
// (tst_process, tst_provision, tst_replicas). The including target defines
// STOA_HUB_BIN.
//
// Invariants: start() returns once the hub logged the port it serves on
// (polled against a deadline), or why not with its output; the destructor
// kills a hub still running.
#pragma once

#include "daemon.h"
#include "program_run.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <string>

namespace stoa::hub::test {

inline const QString kHubBin = QStringLiteral(STOA_HUB_BIN);
constexpr int kServingTimeoutMs = 30000;
constexpr int kStopTimeoutMs = 20000; // SIGTERM to exit

using stoa::testing::ProgramRun;           // tests/harness/program_run.h
using stoa::testing::RunOptions;
using stoa::testing::runProgram;
using stoa::testing::stoaChildEnvironment;

inline QStringList withDatabase(QStringList args, const QString &dataDir, const std::string &database)
{
    args << "--data-dir" << dataDir;
    if (!database.empty())
        args << "--database" << QString::fromStdString(database);
    return args;
}

// `stoa-hub serve` as a child on a free loopback port: a tests/harness
// Daemon (its output in a file appended to across restarts, so a busy hub
// never blocks on a pipe nobody reads while the test waits for its
// clients; killed if still running at the end) that knows the hub's
// options and the scheme and port it logs.
class ServedHub {
public:
    ServedHub(QString dataDir, std::string database, QString logPath)
        : dataDir_(std::move(dataDir)), database_(std::move(database)),
          daemon_(kHubBin, {}, std::move(logPath), stoaChildEnvironment())
    {
    }

    // Empty once the hub logged where it serves; else why not. `listen`:
    // ADDR:PORT (port 0: a free one); `extra`: more serve options.
    QString start(const QString &listen = QStringLiteral("127.0.0.1:0"), const QStringList &extra = {})
    {
        daemon_.setArguments(withDatabase(QStringList{"serve", "--listen", listen} + extra, dataDir_, database_));
        if (!daemon_.start())
            return "stoa-hub serve did not start: " + daemon_.errorString();
        static const QRegularExpression serving(QStringLiteral(R"(serving (https?)://127\.0\.0\.1:(\d+))"));
        const QDeadlineTimer deadline(kServingTimeoutMs);
        for (;;) {
            const auto m = serving.match(output());
            if (m.hasMatch()) {
                scheme_ = m.captured(1).toStdString(); // https with --tls-cert/--tls-key
                port_ = m.captured(2).toUShort();
                if (port_ == 0)
                    return "the hub says it serves on port 0:\n" + output();
                return {};
            }
            if (process().state() == QProcess::NotRunning)
                return QStringLiteral("stoa-hub serve exited (%1) before serving:\n").arg(process().exitCode()) + output();
            if (deadline.hasExpired())
                return "no 'serving http(s)://127.0.0.1:PORT' line within the deadline:\n" + output();
            process().waitForFinished(10); // the poll's pace; returns at once if it exits
        }
    }

    // More environment for the next start() (e.g. systemd's NOTIFY_SOCKET).
    void addEnvironment(const QString &name, const QString &value) { daemon_.setEnvironmentVariable(name, value); }

    std::string base() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
    quint16 port() const { return port_; }
    qint64 pid() const { return daemon_.pid(); }
    bool running() const { return daemon_.running(); }
    QProcess &process() { return daemon_.process(); }

    // What this run of the hub wrote (stdout and stderr).
    QString output() const { return QString::fromLocal8Bit(daemon_.log()); }
    QString outputTail(int lines = 30) const
    {
        const auto all = output().split('\n');
        return all.mid(std::max<qsizetype>(0, all.size() - lines)).join('\n');
    }

private:
    QString dataDir_;
    std::string database_;
    quint16 port_ = 0;
    std::string scheme_ = "http";
    stoa::testing::Daemon daemon_;
};

} // namespace stoa::hub::test
