// tools/cli_provision.cpp — `stoa provision`: options -> provision() (provision.h).
#include "tools/cli.h"
#include "tools/provision.h"

namespace stoa::cli {

int runProvision(const QStringList &args)
{
    Command cmd(QStringLiteral("provision"), QStringLiteral("[--boot DIR]... [--etc DIR]"),
                QStringLiteral("Take over stoa.conf, stoa-root.pub and stoa-token from the boot partition\n"
                               "into /etc/stoa (checked first; the originals are renamed *.applied, or\n"
                               "*.rejected with the reason in *.rejected.txt). Run by stoa-provision.service\n"
                               "before the player and the agent start."),
                QStringLiteral("Exit status: 0 nothing to do or all applied, 1 a file was rejected, 3 I/O error."));
    cmd.parser().addOption({QStringLiteral("boot"),
                            QStringLiteral("A boot partition directory (repeatable; default /boot/firmware, /boot)."),
                            QStringLiteral("DIR")});
    cmd.parser().addOption({QStringLiteral("etc"), QStringLiteral("Where the configuration goes (default /etc/stoa)."),
                            QStringLiteral("DIR"), QStringLiteral("/etc/stoa")});
    if (auto done = cmd.parse(args))
        return *done;
    tools::ProvisionPaths paths;
    if (const QStringList boots = cmd.parser().values(QStringLiteral("boot")); !boots.isEmpty()) {
        paths.bootDirs.clear();
        for (const QString &b : boots)
            paths.bootDirs.emplace_back(b.toStdString());
    }
    paths.etcDir = cmd.parser().value(QStringLiteral("etc")).toStdString();
    auto report = tools::provision(paths);
    if (!report) {
        printErr(QString::fromStdString(report.error()));
        return kExitIo;
    }
    for (const auto &line : report->applied)
        printOut(QStringLiteral("applied %1\n").arg(QString::fromStdString(line)));
    for (const auto &line : report->rejected)
        printErr(QStringLiteral("rejected %1").arg(QString::fromStdString(line)));
    if (report->applied.empty() && report->rejected.empty())
        printOut(QStringLiteral("nothing to provision\n"));
    return report->rejected.empty() ? kExitOk : kExitInvalid;
}

} // namespace stoa::cli
