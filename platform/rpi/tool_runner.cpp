// platform/rpi/tool_runner.cpp — see tool_runner.h.
#include "platform/rpi/tool_runner.h"

#include "platform/rpi/logging.h"

#include <QFileInfo>
#include <QProcess>

namespace stoa::platform {

QString commandLine(const QString &program, const QStringList &arguments)
{
    return arguments.isEmpty() ? program : program + QLatin1Char(' ') + arguments.join(QLatin1Char(' '));
}

std::expected<CommandResult, std::string> ProcessRunner::run(const QString &program, const QStringList &arguments,
                                                             std::chrono::milliseconds timeout)
{
    const std::string what = commandLine(program, arguments).toStdString();
    QProcess process;
    process.setProgram(program);
    process.setArguments(arguments);
    process.setStandardInputFile(QProcess::nullDevice());
    process.start(QIODevice::ReadOnly);
    if (!process.waitForStarted(static_cast<int>(timeout.count()))) {
        // QProcess says "execve: No such file or directory" for a missing
        // binary: name the path, which is what an operator has to fix.
        if (!QFileInfo::exists(program) && program.contains(QLatin1Char('/')))
            return std::unexpected(program.toStdString() + " not found");
        return std::unexpected("cannot start " + what + ": " + process.errorString().toStdString());
    }
    if (!process.waitForFinished(static_cast<int>(timeout.count()))) {
        process.kill();
        // A child stuck in the kernel (vcgencmd in a firmware call) may not
        // die at once; do not wait for it forever.
        process.waitForFinished(1000);
        return std::unexpected(what + " did not finish within " + std::to_string(timeout.count()) +
                               " ms and was killed");
    }
    CommandResult result;
    result.stdoutText = process.readAllStandardOutput().left(kMaxOutputBytes);
    result.stderrText = process.readAllStandardError().left(kMaxOutputBytes);
    if (process.exitStatus() == QProcess::CrashExit)
        return std::unexpected(what + " crashed: " + process.errorString().toStdString());
    result.exitCode = process.exitCode();
    qCDebug(lcPlatform, "%s: exit %d", what.c_str(), result.exitCode);
    return result;
}

} // namespace stoa::platform
