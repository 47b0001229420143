// player/demo_store.cpp — see demo_store.h.
#include "player/demo_store.h"

#include "player/logging.h"
#include "tools/demo.h"

#include <QDir>

namespace stoa::player {

std::expected<DemoStore, std::string> makeDemoStore()
{
    DemoStore demo;
    demo.dir = std::make_unique<QTemporaryDir>(QDir::temp().filePath(QStringLiteral("stoa-demo-XXXXXX")));
    if (!demo.dir->isValid())
        return std::unexpected("cannot create a temporary directory: " + demo.dir->errorString().toStdString());
    auto report = tools::runDemo(demo.dir->path());
    if (!report)
        return std::unexpected("the demo could not be built: " + report.error().message.toStdString());
    // Its first two lines say what was signed, by which key, and that the
    // sync agent verified it: what the demo's slides claim, in the log.
    const QStringList lines = report->split(u'\n');
    qCInfo(lcPlayer, "demo content in %s: %s; %s", qPrintable(demo.dir->path()), qPrintable(lines.value(0)),
           qPrintable(lines.value(1)));
    demo.dataDir = QDir(demo.dir->path()).filePath(QStringLiteral("store")).toStdString();
    return demo;
}

} // namespace stoa::player
