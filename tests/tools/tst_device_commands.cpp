// `stoa demo` and `stoa status`: the commands that work on a device's store.
// The real binary, run with QProcess; the store is then opened directly.
#include "cache/store.h"
#include "stoa_process.h"

#include <QTemporaryDir>
#include <QTest>

class TestDeviceCommands : public QObject {
    Q_OBJECT

private slots:
    void demoPublishesAndTheAgentAdopts()
    {
        QTemporaryDir tmp;
        const StoaRun r = runStoa({"demo", "--data-dir", tmp.path()});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("the sync agent adopted it"), qPrintable(r.out));
        QVERIFY(r.out.contains("playing: "));

        // What the demo says is what is in the store: version 1 active, its
        // five media present, the site's blobs identical.
        stoa::cache::StoreOptions o;
        o.dataDir = (tmp.path() + "/store").toStdString();
        auto store = stoa::cache::Store::open(o);
        QVERIFY(store);
        auto active = (*store)->manifests().get(stoa::cache::Slot::Active);
        QVERIFY(active && *active);
        QCOMPARE((*active)->version, std::int64_t(1));
        QCOMPARE((*active)->assets.size(), std::size_t(5)); // four slides and the video (tools/demo_content.cpp)
        for (const auto &digest : (*active)->assets) {
            auto path = (*store)->blobs().find(digest);
            QVERIFY(path && *path);
            QCOMPARE(readFile(QString::fromStdString((*path)->string())),
                     readFile(tmp.path() + "/site/v1/blobs/sha256/" + QString::fromStdString(digest.hex())));
        }
    }

    void statusDescribesAStore()
    {
        QTemporaryDir tmp;
        QCOMPARE(runStoa({"demo", "--data-dir", tmp.path()}).exitCode, 0);
        const StoaRun r = runStoa({"status", "--data-dir", tmp.path() + "/store"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(QRegularExpression("active manifest +version 1,")), qPrintable(r.out));
        QVERIFY(r.out.contains(QRegularExpression("blobs +5 using")));
        QVERIFY(r.out.contains("in_sync with file://"));
    }

    void statusOfNoStoreIsAnIoError()
    {
        QTemporaryDir tmp;
        const StoaRun r = runStoa({"status", "--data-dir", tmp.path()});
        QCOMPARE(r.exitCode, 3);
        QVERIFY(r.err.contains("holds no store"));
        QVERIFY(!QFile::exists(tmp.path() + "/state.db")); // looking must not create one
    }

    void helpWorks()
    {
        for (const char *cmd : {"demo", "status"}) {
            const StoaRun r = runStoa({cmd, "--help"});
            QCOMPARE(r.exitCode, 0);
            QVERIFY(r.out.contains(QString("stoa %1").arg(cmd)) || r.out.contains("Usage"));
        }
    }
};

QTEST_GUILESS_MAIN(TestDeviceCommands)
#include "tst_device_commands.moc"
