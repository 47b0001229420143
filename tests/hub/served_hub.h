// tests/hub/served_hub.h — `stoa-hub serve` as a child process, for the
// tests that drive the real executable (tst_process, tst_replicas). The
// including target defines STOA_HUB_BIN.
//
// Invariants: start() returns once the hub logged the port it serves on
// (polled against a deadline), or why not with its output; the destructor
// kills a hub still running.
#pragma once

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

// The child's environment: the hub's info lines on (the "serving" line is
// one), plain log format whatever the test runs under.
inline QProcessEnvironment childEnvironment()
{
    auto env = QProcessEnvironment::systemEnvironment();
    env.remove("JOURNAL_STREAM");
    env.insert("QT_LOGGING_RULES", "*.debug=false");
    return env;
}

inline QStringList withDatabase(QStringList args, const QString &dataDir, const std::string &database)
{
    args << "--data-dir" << dataDir;
    if (!database.empty())
        args << "--database" << QString::fromStdString(database);
    return args;
}

// One command (the hub's CLI, `stoa`, `stoa-syncd --check-config`), run to
// its end within `timeoutMs`, in childEnvironment().
struct ProgramRun {
    int exitCode = -1; // -1: crashed, timed out or did not start
    QString out, err;
    QString why;       // when exitCode is -1

    QString lastLine() const
    {
        const auto lines = out.split('\n', Qt::SkipEmptyParts);
        return lines.isEmpty() ? QString() : lines.last();
    }
    QByteArray describe() const
    {
        return QStringLiteral("exit %1%2\n--- stdout:\n%3--- stderr:\n%4")
            .arg(exitCode)
            .arg(why.isEmpty() ? QString() : " (" + why + ")", out, err)
            .toLocal8Bit();
    }
};

inline ProgramRun runProgram(const QString &program, const QStringList &args, int timeoutMs = 30000)
{
    ProgramRun r;
    QProcess p;
    p.setProcessEnvironment(childEnvironment());
    p.start(program, args);
    if (!p.waitForStarted(timeoutMs)) {
        r.why = "did not start: " + p.errorString();
        return r;
    }
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(timeoutMs);
        r.why = "still running after the deadline";
    } else if (p.exitStatus() != QProcess::NormalExit) {
        r.why = "crashed";
    } else {
        r.exitCode = p.exitCode();
    }
    r.out = QString::fromLocal8Bit(p.readAllStandardOutput());
    r.err = QString::fromLocal8Bit(p.readAllStandardError());
    return r;
}

// `stoa-hub serve` as a child on a free loopback port. Its output goes to a
// file (appended to across restarts), so a busy hub never blocks on a pipe
// nobody reads while the test waits for its clients.
class ServedHub {
public:
    ServedHub(QString dataDir, std::string database, QString logPath)
        : dataDir_(std::move(dataDir)), database_(std::move(database)), logPath_(std::move(logPath))
    {
    }
    ~ServedHub()
    {
        if (process_.state() != QProcess::NotRunning) {
            process_.kill();
            process_.waitForFinished(kStopTimeoutMs);
        }
    }
    ServedHub(const ServedHub &) = delete;
    ServedHub &operator=(const ServedHub &) = delete;

    // Empty once the hub logged where it serves; else why not. `listen`:
    // ADDR:PORT (port 0: a free one); `extra`: more serve options.
    QString start(const QString &listen = QStringLiteral("127.0.0.1:0"), const QStringList &extra = {})
    {
        offset_ = QFile(logPath_).size(); // 0 when missing
        auto env = childEnvironment();
        env.insert(extraEnv_);
        process_.setProcessEnvironment(env);
        process_.setProcessChannelMode(QProcess::MergedChannels);
        process_.setStandardOutputFile(logPath_, QIODevice::Append);
        process_.start(kHubBin, withDatabase(QStringList{"serve", "--listen", listen} + extra, dataDir_, database_));
        if (!process_.waitForStarted(kServingTimeoutMs))
            return "stoa-hub serve did not start: " + process_.errorString();
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
            if (process_.state() == QProcess::NotRunning)
                return QStringLiteral("stoa-hub serve exited (%1) before serving:\n").arg(process_.exitCode()) + output();
            if (deadline.hasExpired())
                return "no 'serving http(s)://127.0.0.1:PORT' line within the deadline:\n" + output();
            process_.waitForFinished(10); // the poll's pace; returns at once if it exits
        }
    }

    // More environment for the next start() (e.g. systemd's NOTIFY_SOCKET).
    void addEnvironment(const QString &name, const QString &value) { extraEnv_.insert(name, value); }

    std::string base() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
    quint16 port() const { return port_; }
    qint64 pid() const { return process_.processId(); }
    bool running() const { return process_.state() != QProcess::NotRunning; }
    QProcess &process() { return process_; }

    // What this run of the hub wrote (stdout and stderr).
    QString output() const
    {
        QFile f(logPath_);
        if (!f.open(QIODevice::ReadOnly) || !f.seek(offset_))
            return {};
        return QString::fromLocal8Bit(f.readAll());
    }
    QString outputTail(int lines = 30) const
    {
        const auto all = output().split('\n');
        return all.mid(std::max<qsizetype>(0, all.size() - lines)).join('\n');
    }

private:
    QString dataDir_;
    std::string database_;
    QString logPath_;
    qint64 offset_ = 0;
    quint16 port_ = 0;
    std::string scheme_ = "http";
    QProcessEnvironment extraEnv_;
    QProcess process_;
};

} // namespace stoa::hub::test
