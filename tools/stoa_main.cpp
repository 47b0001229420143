// tools/stoa_main.cpp — the `stoa` operator command: dispatch to a subcommand.
// Everything else lives in cli_*.cpp (options) and the stoa_tools library.
#include "tools/cli.h"

#include <QCoreApplication>
#include <QLoggingCategory>

#include <array>
#include <utility>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("stoa"));
    QCoreApplication::setApplicationVersion(QStringLiteral(STOA_VERSION));
    // Quiet by default: results and errors are the output. QT_LOGGING_RULES
    // (e.g. "stoa.*=true") still wins, for debugging.
    QLoggingCategory::setFilterRules(QStringLiteral("stoa.*.debug=false\nstoa.*.info=false"));
    using namespace stoa::cli;

    const QStringList args = QCoreApplication::arguments();
    const QString first = args.value(1);
    if (first.isEmpty() || first == QLatin1String("--help") || first == QLatin1String("-h") || first == QLatin1String("help")) {
        if (first.isEmpty()) {
            printErr(QStringLiteral("no command given"));
            std::fputs(mainHelp().toLocal8Bit().constData(), stderr);
            return kExitUsage;
        }
        printOut(mainHelp());
        return kExitOk;
    }
    if (first == QLatin1String("--version") || first == QLatin1String("-v")) {
        printOut(QStringLiteral("stoa %1 (protocol v1)\n").arg(QStringLiteral(STOA_VERSION)));
        return kExitOk;
    }
    static constexpr std::array<std::pair<const char *, int (*)(const QStringList &)>, 8> kCommands{{
        {"keygen", runKeygen}, {"publish", runPublish}, {"keys", runKeys}, {"verify", runVerify}, {"inspect", runInspect},
        {"status", runStatus}, {"demo", runDemo}, {"provision", runProvision}}};
    for (const auto &[name, run] : kCommands) {
        if (first == QLatin1String(name)) {
            QStringList rest = args;
            rest.removeAt(1); // the parser wants argv[0] followed by the options
            return run(rest);
        }
    }
    printErr(QStringLiteral("unknown command \"%1\" (see \"stoa --help\")").arg(first));
    return kExitUsage;
}
