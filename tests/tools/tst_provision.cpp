// tests/tools/tst_provision.cpp — `stoa provision`, the real binary over a
// fake boot partition and /etc/stoa in a temporary directory.
#include "stoa_process.h"

#include <QFileInfo>
#include <QTemporaryDir>

#include <sys/stat.h>

class TestProvision : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString boot() const { return m_tmp.path() + "/boot"; }
    QString etc() const { return m_tmp.path() + "/etc"; }
    StoaRun provision() { return runStoa({"provision", "--boot", boot(), "--etc", etc()}); }
    static QByteArray read(const QString &p)
    {
        QFile f(p);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<missing>");
    }

private slots:
    void init()
    {
        QDir(boot()).removeRecursively();
        QDir(etc()).removeRecursively();
        QVERIFY(QDir().mkpath(boot()));
    }

    void takesOverValidFilesOnce()
    {
        QCOMPARE(runStoa({"keygen", "--out", m_tmp.path() + "/root"}).exitCode, 0);
        const QByteArray conf = "server = https://signage.example.com/stoa\nrotation = 90\nplayer_listen = 127.0.0.1:9641\n";
        writeFile(boot() + "/stoa.conf", conf);
        QVERIFY(QFile::copy(m_tmp.path() + "/root.pub", boot() + "/stoa-root.pub"));
        writeFile(boot() + "/stoa-token", "s3cret-token\n");
        writeFile(etc() + "/stoa.conf", "server = https://old.example.com\n");

        StoaRun r = provision();
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(read(etc() + "/stoa.conf"), conf);
        QCOMPARE(read(etc() + "/stoa.conf.old"), QByteArray("server = https://old.example.com\n"));
        QCOMPARE(read(etc() + "/root.pub"), read(m_tmp.path() + "/root.pub"));
        QCOMPARE(read(etc() + "/token"), QByteArray("s3cret-token\n"));
        struct stat st {};
        QCOMPARE(::stat(QFile::encodeName(etc() + "/token").constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, mode_t(0640)); // never world-readable
        QVERIFY(!r.out.contains("s3cret")); // the secret is not printed
        for (const char *name : {"stoa.conf", "stoa-root.pub", "stoa-token"}) {
            QVERIFY2(!QFile::exists(boot() + "/" + name), name);
            QVERIFY2(QFile::exists(boot() + "/" + name + ".applied"), name);
        }

        r = provision(); // next boot: nothing left to take
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("nothing to provision"));
        QCOMPARE(read(etc() + "/stoa.conf"), conf);
    }

    void rejectsABadConfigNamingLineAndKey()
    {
        const QByteArray good = "server = https://good.example.com\n";
        writeFile(etc() + "/stoa.conf", good);
        writeFile(boot() + "/stoa.conf", "server = https://x\n\nsever = typo\n");
        const StoaRun r = provision();
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("stoa.conf:3: unknown key 'sever'"), qPrintable(r.err));
        QCOMPARE(read(etc() + "/stoa.conf"), good); // what was installed stays
        QVERIFY(QFile::exists(boot() + "/stoa.conf.rejected"));
        QVERIFY(read(boot() + "/stoa.conf.rejected.txt").contains("unknown key 'sever'"));
        QVERIFY(!QFile::exists(boot() + "/stoa.conf"));
    }

    void rejectsAKeyFileThatIsNotAKey()
    {
        writeFile(boot() + "/stoa-root.pub", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n");
        writeFile(boot() + "/stoa-token", "\n");
        const StoaRun r = provision();
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("rejected stoa-root.pub"));
        QVERIFY(r.err.contains("rejected stoa-token: the token file is empty"));
        QVERIFY(!QFile::exists(etc() + "/root.pub"));
        QVERIFY(!QFile::exists(etc() + "/token"));
    }

    // stoa-ca.pem (the hub's private TLS CA) is installed as ETC/ca.pem when
    // every block is a certificate; a key, garbage or nothing is rejected
    // with the reason and ETC/ca.pem stays as it was.
    void takesACaBundleAndRejectsOneThatIsNot()
    {
        const auto openssl = stoa::testing::runProgram(
            "openssl", {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", m_tmp.path() + "/ca.key", "-out", m_tmp.path() + "/ca.pem", "-days", "2",
                        "-subj", "/CN=Stoa provision test CA"},
            stoa::testing::RunOptions().timeout(60000));
        QVERIFY2(openssl.ok(), openssl.describe().constData());
        const QByteArray ca = read(m_tmp.path() + "/ca.pem");
        writeFile(boot() + "/stoa-ca.pem", ca + ca); // a bundle of two
        StoaRun r = provision();
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(read(etc() + "/ca.pem"), ca + ca);
        QVERIFY(QFile::exists(boot() + "/stoa-ca.pem.applied"));

        const QList<QPair<QByteArray, QByteArray>> bad = {
            {read(m_tmp.path() + "/ca.key"), "only \"CERTIFICATE\" blocks belong"},
            {"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "not a valid X.509 certificate"},
            {"", "no \"CERTIFICATE\" PEM block"},
        };
        for (const auto &[bytes, why] : bad) {
            init();
            writeFile(etc() + "/ca.pem", ca);
            writeFile(boot() + "/stoa-ca.pem", bytes);
            r = provision();
            QCOMPARE(r.exitCode, 1);
            QVERIFY2(r.err.contains("rejected stoa-ca.pem") && r.err.contains(why), qPrintable(r.err));
            QVERIFY(read(boot() + "/stoa-ca.pem.rejected.txt").contains(why));
            QCOMPARE(read(etc() + "/ca.pem"), ca); // what was installed stays
        }
    }

    void aBootFileWithoutServerIsStillTaken()
    {
        writeFile(boot() + "/stoa.conf", "rotation = 180\n");
        const StoaRun r = provision();
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(read(etc() + "/stoa.conf"), QByteArray("rotation = 180\n"));
    }
};

QTEST_GUILESS_MAIN(TestProvision)
#include "tst_provision.moc"
