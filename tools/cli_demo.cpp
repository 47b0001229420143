// tools/cli_demo.cpp — `stoa demo`: options -> runDemo() (demo.h).
#include "tools/cli.h"
#include "tools/demo.h"

#include <QDir>

namespace stoa::cli {

int runDemo(const QStringList &args)
{
    Command cmd(QStringLiteral("demo"), QStringLiteral("--data-dir DIR"),
                QStringLiteral("Run the whole chain with no network: take the demo content made at build time\n"
                               "(a layout of slides, a video, a clock and a ticker), sign it with a fresh demo\n"
                               "key as a site under DIR/site, let the sync agent adopt it from file:// into the\n"
                               "store DIR/store, and describe that store. stoa-player --demo plays it."),
                QStringLiteral("Example:\n  stoa demo --data-dir /tmp/stoa-demo"));
    cmd.parser().addOption({QStringLiteral("data-dir"), QStringLiteral("Where everything goes."), QStringLiteral("DIR")});
    if (auto done = cmd.parse(args))
        return *done;
    int exit = kExitOk;
    const auto dir = cmd.required(QStringLiteral("data-dir"), exit);
    if (!dir)
        return exit;
    auto report = tools::runDemo(*dir);
    if (!report)
        return fail(report.error());
    printOut(*report);
    return kExitOk;
}

} // namespace stoa::cli
