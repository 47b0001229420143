// tools/cli_status.cpp — `stoa status`: options -> describeStore() (store_report.h).
#include "tools/cli.h"
#include "tools/store_report.h"

namespace stoa::cli {

int runStatus(const QStringList &args)
{
    Command cmd(QStringLiteral("status"), QStringLiteral("[--data-dir DIR]"),
                QStringLiteral("Describe a device's store: active and staged manifests, what plays now,\n"
                               "space, the sync agent's last report, uploads waiting, commands for the\n"
                               "player. Opening the store runs its start-up check (safe while the player\n"
                               "and the agent are running)."),
                QStringLiteral("Example:\n  sudo -u stoa stoa status --data-dir /var/lib/stoa"));
    cmd.parser().addOption({QStringLiteral("data-dir"), QStringLiteral("The store (default /var/lib/stoa)."),
                            QStringLiteral("DIR"), QStringLiteral("/var/lib/stoa")});
    if (auto done = cmd.parse(args))
        return *done;
    cache::StoreOptions o;
    o.dataDir = cmd.parser().value(QStringLiteral("data-dir")).toStdString();
    if (!std::filesystem::exists(o.dataDir / "state.db")) {
        printErr(QStringLiteral("%1 holds no store").arg(QString::fromStdString(o.dataDir.string())));
        return kExitIo;
    }
    auto store = cache::Store::open(o);
    if (!store) {
        printErr(QString::fromStdString(store.error().message));
        return kExitIo;
    }
    printOut(tools::describeStore(**store, QDateTime::currentDateTimeUtc()));
    return kExitOk;
}

} // namespace stoa::cli
