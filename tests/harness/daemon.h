// tests/harness/daemon.h — a real long-running stoa process (stoa-syncd,
// stoa-player, stoa-hub serve) started by a test, its output in a file, and
// the environment a player started that way needs.
//
// Invariants:
//  - the output (both channels) goes to a file, never a pipe: a pipe nobody
//    reads while the test waits on something else would fill and stall the
//    child;
//  - log() is the output of the current run only (the file is appended to
//    over restarts, the run's start offset is kept);
//  - the destructor SIGKILLs a child still running, so a failing check never
//    leaves one behind.
#pragma once

#include "process_probe.h"
#include "wait_until.h"

#include <QByteArray>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

namespace stoa::testing {

// `env` (by default the system's) for a stoa-player child: offscreen (no
// display needed), and under ASan no leak report whatever the run's own
// ASAN_OPTIONS say (the media stack keeps allocations until exit, as in
// tests/player). With an LD_PRELOAD library (libfaketime) ahead of the ASan
// runtime, ASan must also be told not to refuse that link order.
inline QProcessEnvironment playerEnvironment(QProcessEnvironment env = QProcessEnvironment::systemEnvironment())
{
    env.insert("QT_QPA_PLATFORM", "offscreen");
    env.insert("ASAN_OPTIONS", env.contains("LD_PRELOAD") ? "detect_leaks=0:abort_on_error=1:verify_asan_link_order=0"
                                                          : "detect_leaks=0:abort_on_error=1");
    return env;
}

class Daemon {
public:
    // `logFile` may be left empty here and named at start().
    Daemon(QString program, QStringList args, QString logFile = {},
           QProcessEnvironment env = QProcessEnvironment::systemEnvironment())
        : m_program(std::move(program)), m_args(std::move(args)), m_logFile(std::move(logFile))
    {
        m_process.setProcessEnvironment(env);
        m_process.setProcessChannelMode(QProcess::MergedChannels);
    }
    ~Daemon() { kill(); }
    Daemon(const Daemon &) = delete;
    Daemon &operator=(const Daemon &) = delete;

    // Starts a run whose output is appended to the log file (`logFile`, when
    // given, from this run on); false when the program did not start.
    bool start(const QString &logFile = {})
    {
        if (!logFile.isEmpty())
            m_logFile = logFile;
        m_from = QFileInfo(m_logFile).size();
        m_process.setStandardOutputFile(m_logFile, QIODevice::Append);
        m_process.start(m_program, m_args);
        return m_process.waitForStarted(10000);
    }
    // SIGKILL, as a power cut or the OOM killer would; true once it is gone.
    bool kill()
    {
        if (m_process.state() == QProcess::NotRunning)
            return true;
        m_process.kill();
        return m_process.waitForFinished(10000);
    }
    // SIGTERM, as systemd stops it; true when it exited by itself with 0.
    bool terminate()
    {
        m_process.terminate();
        return m_process.waitForFinished(30000) && m_process.exitStatus() == QProcess::NormalExit &&
               m_process.exitCode() == 0;
    }
    bool running() const { return m_process.state() == QProcess::Running; }
    // Why start() failed.
    QString errorString() const { return m_process.errorString(); }
    qint64 pid() const { return m_process.processId(); }
    // For the next start(): other arguments, one more environment variable
    // (e.g. systemd's NOTIFY_SOCKET).
    void setArguments(QStringList args) { m_args = std::move(args); }
    void setEnvironmentVariable(const QString &name, const QString &value)
    {
        auto env = m_process.processEnvironment();
        env.insert(name, value);
        m_process.setProcessEnvironment(env);
    }
    // The process itself, for what this class does not say (a wait for its
    // exit at the test's own pace, its exit status after a SIGKILL).
    QProcess &process() { return m_process; }

    QByteArray log() const
    {
        QFile f(m_logFile);
        if (!f.open(QIODevice::ReadOnly) || !f.seek(m_from))
            return {};
        return f.readAll();
    }
    // The end of log(), for a failure message (QTest cuts long ones short).
    const char *tail() const
    {
        m_tail = log().right(1500);
        return m_tail.constData();
    }
    // The port of its "serving http://127.0.0.1:PORT" line; 0: not logged yet.
    std::uint16_t servingPort() const { return std::uint16_t(endpoints::testing::servingPort(log())); }
    // True once it logged that line; false when the deadline passed or it
    // exited first. Runs the event loop between polls, so an exit is seen
    // as it happens (QProcess learns of it there).
    bool waitServing(std::chrono::milliseconds timeout) const
    {
        waitProcessingEvents([&] { return servingPort() != 0 || !running(); }, int(timeout.count()));
        return servingPort() != 0;
    }
    // Its state and the last `lines` lines of this run's log, headed by the
    // program's name: one block of a failure report that shows several.
    QString report(int lines = 60) const
    {
        const QString state = running() ? QStringLiteral("running")
                              : m_process.exitStatus() == QProcess::NormalExit
                                  ? QStringLiteral("exited with %1").arg(m_process.exitCode())
                                  : QStringLiteral("crashed or killed");
        const QStringList all = QString::fromLocal8Bit(log()).split('\n');
        return QStringLiteral("----- %1 (%2), last %3 lines of %4:\n").arg(QFileInfo(m_program).fileName(), state)
                   .arg(lines).arg(m_logFile)
               + all.mid(std::max<qsizetype>(0, all.size() - lines)).join('\n');
    }
    // True once `needle` is in this run's log; false when the deadline passed
    // or the process ended without logging it.
    bool waitForLog(const QByteArray &needle, std::chrono::milliseconds timeout) const
    {
        return waitUntil([&] { return log().contains(needle) || !running(); }, timeout) && log().contains(needle);
    }

private:
    QString m_program;
    QStringList m_args;
    QString m_logFile;
    QProcess m_process;
    qint64 m_from = 0;          // the log file's size when this run started
    mutable QByteArray m_tail;  // keeps tail()'s bytes alive for the caller
};

} // namespace stoa::testing
