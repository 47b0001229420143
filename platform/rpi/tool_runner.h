// platform/rpi/tool_runner.h — running a Pi tool (vcgencmd, cec-ctl) as a
// real process, with a timeout.
//
// ToolRunner is the seam: ProcessRunner spawns the program with QProcess;
// tests use ProcessRunner itself against fake tools (shell scripts in a temp
// dir that record their argv and print what the real tools print), so spawn,
// output parsing, exit codes, timeouts and a missing binary all run for real.
//
// Invariants:
//  - run() never throws and never blocks longer than the timeout plus the
//    time to kill and reap the child;
//  - a program that cannot be started, times out (it is killed), or dies
//    from a signal is an error naming the program; a non-zero exit status is
//    NOT an error here (the result carries it), callers judge it;
//  - at most kMaxOutputBytes per stream are kept in the result;
//  - no shell: arguments are passed as they are;
//  - usable from any thread (each call owns its QProcess; no event loop needed).
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <chrono>
#include <expected>
#include <string>

namespace stoa::platform {

struct CommandResult {
    int exitCode = 0;      // the program's exit status
    QByteArray stdoutText; // what it wrote to stdout (capped)
    QByteArray stderrText; // what it wrote to stderr (capped)
};

class ToolRunner {
public:
    static constexpr qint64 kMaxOutputBytes = 64 * 1024;

    virtual ~ToolRunner() = default;
    virtual std::expected<CommandResult, std::string> run(const QString &program, const QStringList &arguments,
                                                          std::chrono::milliseconds timeout) = 0;
};

class ProcessRunner final : public ToolRunner {
public:
    std::expected<CommandResult, std::string> run(const QString &program, const QStringList &arguments,
                                                  std::chrono::milliseconds timeout) override;
};

// "prog a b" for messages and reports.
QString commandLine(const QString &program, const QStringList &arguments);

} // namespace stoa::platform
