// Crash test: a child imports blobs and commits state in a loop; we SIGKILL
// it at random moments and check the store after every kill.
//
// STOA_CRASH_KILLS sets the number of kills (default 200; use thousands for a
// soak), STOA_CRASH_SEED the random seed (printed, so a failure can be replayed).
#include "cache/store.h"
#include "store_fixtures.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <algorithm>
#include <signal.h>

using namespace stoa::cache;
using namespace stoa::testing;
namespace fs = std::filesystem;

class TestCrash : public QObject {
    Q_OBJECT

    // Polls the child's output file until it holds `marker` or the deadline passes.
    static bool waitForOutput(const QString &file, const QByteArray &marker, QProcess &child)
    {
        QDeadlineTimer deadline(30000);
        while (!deadline.hasExpired() && child.state() != QProcess::NotRunning) {
            QFile f(file);
            if (f.open(QIODevice::ReadOnly) && f.readAll().contains(marker))
                return true;
            QThread::msleep(1);
        }
        return false;
    }

private slots:
    void killAtRandomMoments()
    {
        const int kills = qEnvironmentVariableIsSet("STOA_CRASH_KILLS") ? qEnvironmentVariableIntValue("STOA_CRASH_KILLS") : 200;
        const quint32 seed = qEnvironmentVariableIsSet("STOA_CRASH_SEED")
                                 ? quint32(qEnvironmentVariableIntValue("STOA_CRASH_SEED"))
                                 : QRandomGenerator::global()->generate() % 100000;
        qInfo("crash test: %d kills, STOA_CRASH_SEED=%u", kills, seed);
        QRandomGenerator rng(seed);
        QTemporaryDir tmp;
        const fs::path data = fs::path(tmp.path().toStdString()) / "data";
        std::int64_t lastCommitted = 0;
        int midBlobKills = 0;

        for (int k = 0; k < kills; ++k) {
            // The child's stdout goes to a file: what it printed before the
            // kill is in the kernel's hands, so none of it can be lost.
            const QString outFile = tmp.filePath(QString("out-%1.txt").arg(k));
            QProcess child;
            child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
            child.setStandardOutputFile(outFile);
            child.start(STOA_STORE_CHILD, {"crash", QString::fromStdString(data.string()), QString::number(seed)});
            QVERIFY(child.waitForStarted());
            QVERIFY2(waitForOutput(outFile, "ready", child), "child did not start");
            // The kill moment: after 0-2 more commits (so the run makes
            // progress however loaded the machine is), then 0-30 ms into the
            // next piece of work: before, inside and after blob writes and commits.
            const QByteArray started = readFile(outFile.toStdString());
            const std::int64_t readyAt = started.mid(started.indexOf("ready ") + 6).split('\n').first().toLongLong();
            const std::int64_t target = readyAt + std::int64_t(rng.bounded(3));
            if (target > readyAt)
                QVERIFY2(waitForOutput(outFile, "committed " + QByteArray::number(qlonglong(target)) + "\n", child),
                         "child made no progress");
            const int delayUs = int(rng.bounded(30000));
            QThread::usleep(static_cast<unsigned long>(delayUs));
            ::kill(static_cast<pid_t>(child.processId()), SIGKILL);
            QVERIFY(child.waitForFinished(10000));
            QCOMPARE(child.exitStatus(), QProcess::CrashExit);
            const QByteArray out = readFile(outFile.toStdString());
            QFile::remove(outFile);
            if (qEnvironmentVariableIsSet("STOA_CRASH_VERBOSE"))
                qInfo("kill %d after %d us: %s", k, delayUs, out.simplified().constData());
            // "ready N": the child found N active; "committed N": it activated
            // N and then finished writing the counter and the play for N.
            std::int64_t lastSeen = 0; // the newest version this child is known to have reached
            for (const QByteArray &line : out.split('\n')) {
                if (line.startsWith("committed "))
                    lastCommitted = lastSeen = line.mid(10).toLongLong();
                else if (line.startsWith("ready "))
                    lastSeen = line.mid(6).toLongLong();
            }

            // Restart (the store's recovery runs) and check every invariant.
            StoreOptions o;
            o.dataDir = data;
            auto store = Store::open(o);
            QVERIFY2(store, store ? "" : store.error().message.c_str());
            Store &s = **store;
            QCOMPARE(*s.db().integrityCheck(), std::string("ok"));

            // The last committed state is there (perhaps one more, if the kill
            // came between the commit and the print).
            auto active = s.manifests().get(Slot::Active);
            QVERIFY(active);
            const std::int64_t v = *active ? (*active)->version : 0;
            QVERIFY2(v >= lastCommitted && v >= lastSeen && v <= lastSeen + 1,
                     qPrintable(QString("active %1, last committed %2; child said: %3")
                                    .arg(v)
                                    .arg(lastCommitted)
                                    .arg(QString::fromLatin1(out))));
            QCOMPARE(*s.manifests().rollbackFloor(), v);
            if (v > 0) {
                QCOMPARE((*active)->envelope, "envelope-" + std::to_string(v));
                for (const auto &digest : (*active)->assets)
                    QVERIFY2(*s.blobs().contains(digest), "an active manifest's blob is missing");
            }
            auto counter = s.kv().getInt("counter");
            QVERIFY(counter);
            QVERIFY(counter->value_or(0) >= lastCommitted && counter->value_or(0) <= v);
            if (lastCommitted > 0) {
                auto plays = s.plays().batch(1000000);
                QVERIFY(plays);
                const std::string want = "play-" + std::to_string(lastCommitted);
                QVERIFY2(std::any_of(plays->begin(), plays->end(), [&](const PlayRecord &p) { return p.id == want; }),
                         "the last committed play record is missing");
            }

            // Every visible blob hashes to its name (checked with Qt's SHA-256, not ours).
            std::error_code ec;
            for (const auto &e : fs::recursive_directory_iterator(data / "blobs", ec)) {
                if (!e.is_regular_file())
                    continue;
                QCOMPARE(digestOf(readFile(e.path())).hex(), e.path().filename().string());
            }
            auto listed = s.blobs().list();
            QVERIFY(listed);
            for (const auto &b : *listed)
                QVERIFY(fs::exists(s.blobs().pathFor(b.digest)));

            // Temp files stay bounded: at most the partials of one staged
            // manifest (3 blobs of at most 1.5 MiB), never an accumulation.
            std::uint64_t tmpBytes = 0;
            int tmpFiles = 0;
            for (const auto &e : fs::directory_iterator(data / "tmp")) {
                tmpBytes += e.file_size();
                ++tmpFiles;
            }
            QVERIFY2(tmpFiles <= 3, qPrintable(QString("%1 temp files").arg(tmpFiles)));
            QVERIFY(tmpBytes <= 3 * 1536 * 1024);
            midBlobKills += s.recoveryReport().partialsKept > 0 ? 1 : 0;
        }
        qInfo("crash test: %d kills, last version %lld, %d kills left a partial that was resumed", kills,
              static_cast<long long>(lastCommitted), midBlobKills);
        // The kills must actually have interrupted work, or this test proved nothing.
        QVERIFY(lastCommitted > 0);
        QVERIFY(midBlobKills > 0);
    }
};

QTEST_GUILESS_MAIN(TestCrash)
#include "tst_crash.moc"
