// tests/harness/program_run.h — one program run to its end by a test: a stoa
// command line (`stoa`, `stoa-hub device add`, `stoa-syncd --check-config`)
// or a tool the test uses as a reference or a maker of inputs (openssl,
// promtool); its exit code and what it wrote.
//
// Invariants:
//  - every wait has a deadline: a run still going after it is SIGKILLed and
//    reaped, and counts as failed (exitCode -1, `why` says so), as does a
//    crash or a program that did not start;
//  - stdout and stderr are kept apart (tests check where messages go)
//    unless merged() asks for one stream (`out`);
//  - the child gets stoaChildEnvironment() unless the caller gives another:
//    the plain log format, whatever the test runs under, without debug lines.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <optional>

namespace stoa::testing {

// The environment of a stoa process a test starts: no JOURNAL_STREAM (which
// would switch its log to the journal's format), info lines on and debug
// lines off (a "serving http://127.0.0.1:PORT" line is an info line).
inline QProcessEnvironment stoaChildEnvironment()
{
    auto env = QProcessEnvironment::systemEnvironment();
    env.remove("JOURNAL_STREAM");
    env.insert("QT_LOGGING_RULES", "*.debug=false");
    return env;
}

// What runProgram() does beyond running `program`; set by chaining, e.g.
// RunOptions().timeout(60000).in(dir).merged().
struct RunOptions {
    int timeoutMs = 30000;                      // to start, and again to finish
    QString workDir;                            // empty: the test's
    std::optional<QProcessEnvironment> env;     // nullopt: stoaChildEnvironment()
    bool mergeChannels = false;                 // stderr into `out`
    std::optional<QByteArray> stdinBytes;       // written to stdin, then closed

    RunOptions &timeout(int ms) { timeoutMs = ms; return *this; }
    RunOptions &in(const QString &dir) { workDir = dir; return *this; }
    RunOptions &environment(const QProcessEnvironment &e) { env = e; return *this; }
    RunOptions &systemEnvironment() { return environment(QProcessEnvironment::systemEnvironment()); }
    RunOptions &merged() { mergeChannels = true; return *this; }
    RunOptions &input(const QByteArray &bytes) { stdinBytes = bytes; return *this; }
};

struct ProgramRun {
    int exitCode = -1; // -1: crashed, timed out or did not start
    QString out, err;  // err stays empty when merged
    QString why;       // when exitCode is -1

    bool ok() const { return exitCode == 0; }
    QString lastLine() const
    {
        const auto lines = out.split('\n', Qt::SkipEmptyParts);
        return lines.isEmpty() ? QString() : lines.last();
    }
    // For a failure message.
    QByteArray describe() const
    {
        return QStringLiteral("exit %1%2\n--- stdout:\n%3--- stderr:\n%4")
            .arg(exitCode)
            .arg(why.isEmpty() ? QString() : " (" + why + ")", out, err)
            .toLocal8Bit();
    }
};

inline ProgramRun runProgram(const QString &program, const QStringList &args,
                             const RunOptions &options = RunOptions())
{
    ProgramRun r;
    QProcess p;
    p.setProcessEnvironment(options.env ? *options.env : stoaChildEnvironment());
    if (!options.workDir.isEmpty())
        p.setWorkingDirectory(options.workDir);
    if (options.mergeChannels)
        p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForStarted(options.timeoutMs)) {
        r.why = program + " did not start: " + p.errorString();
        return r;
    }
    if (options.stdinBytes)
        p.write(*options.stdinBytes);
    p.closeWriteChannel(); // a child reading stdin sees its end, not a test that never writes
    if (!p.waitForFinished(options.timeoutMs)) {
        p.kill();
        p.waitForFinished(options.timeoutMs);
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

} // namespace stoa::testing
