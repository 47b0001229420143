// tests/schedule/tst_openssl_interop.cpp — Stoa and the openssl command line
// agree on keys, PAE bytes and Ed25519 signatures, in both directions. The
// openssl side never uses Stoa code: PAE is written out by hand and keyids
// come from the DER of `openssl pkey -pubout`.
#include "program_run.h"
#include "signed_documents.h"
#include "test_files.h"

#include "schedule/envelope.h"
#include "schedule/keys.h"
#include "schedule/manifest_parse.h"
#include "schedule/trust_store.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonDocument>
#include <QObject>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;
using stoa::testing::readFile;  // tests/harness/test_files.h
using stoa::testing::writeFile; // (ends the test binary when it cannot write: qFatal)

namespace {

using Run = stoa::testing::ProgramRun;

// The openssl command line, its two channels in one (tests/harness/program_run.h).
Run openssl(const QStringList &args)
{
    return stoa::testing::runProgram(QStringLiteral("openssl"), args, stoa::testing::RunOptions().merged());
}

// The spec's PAE, written out independently of schedule/encoding.
QByteArray handPae(const QByteArray &type, const QByteArray &body)
{
    return "DSSEv1 " + QByteArray::number(type.size()) + ' ' + type + ' ' + QByteArray::number(body.size()) + ' ' + body;
}

} // namespace

class TestOpensslInterop : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString path(const char *name) const { return m_dir.filePath(QString::fromLatin1(name)); }

private slots:
    void initTestCase()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl command line tool not installed");
        QVERIFY(m_dir.isValid());
    }

    void opensslSignsStoaVerifies()
    {
        QCOMPARE(openssl({"genpkey", "-algorithm", "ed25519", "-out", path("k.pem")}).exitCode, 0);
        QCOMPARE(openssl({"pkey", "-in", path("k.pem"), "-pubout", "-out", path("pub.pem")}).exitCode, 0);
        QCOMPARE(openssl({"pkey", "-pubin", "-in", path("pub.pem"), "-outform", "DER", "-out", path("pub.der")}).exitCode, 0);
        const QByteArray der = readFile(path("pub.der"));
        QCOMPARE(der.size(), 44); // SPKI header (12 bytes) + 32 raw key bytes
        const QString keyid = QString::fromLatin1(
            QCryptographicHash::hash(der.right(32), QCryptographicHash::Sha256).toHex());

        const QByteArray type = kManifestPayloadType;
        const QByteArray payload = toJson(validManifest());
        writeFile(path("pae.bin"), handPae(type, payload));
        const Run sign = openssl({"pkeyutl", "-sign", "-rawin", "-inkey", path("k.pem"), "-in", path("pae.bin"),
                                  "-out", path("sig")});
        QVERIFY2(sign.exitCode == 0, sign.describe().constData());
        const QByteArray sig = readFile(path("sig"));
        QCOMPARE(sig.size(), 64);

        const QByteArray envelope = toJson(QJsonObject{
            {"payloadType", QString::fromLatin1(type)},
            {"payload", QString::fromLatin1(payload.toBase64())},
            {"signatures", QJsonArray{QJsonObject{{"keyid", keyid}, {"sig", QString::fromLatin1(sig.toBase64())}}}}});

        auto keys = loadPublicKeysPemFile(path("pub.pem"));
        QVERIFY2(keys.has_value(), keys ? "" : qPrintable(keys.error().reason));
        QCOMPARE(keys->size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(keys->front().keyId()), keyid);

        auto verified = verifyEnvelope(envelope, type, *keys);
        QVERIFY2(verified.has_value(), verified ? "" : qPrintable(verified.error().reason));
        QCOMPARE(verified->payload, payload);

        // Stoa reads the openssl private key too, and derives the same public key.
        auto priv = loadPrivateKeyPemFile(path("k.pem"));
        QVERIFY2(priv.has_value(), priv ? "" : qPrintable(priv.error().reason));
        QCOMPARE(priv->publicKey().keyId(), keys->front().keyId());
        // Ed25519 is deterministic: Stoa's signature of the same PAE is openssl's.
        QCOMPARE(*priv->sign(handPae(type, payload)), sig);
    }

    void stoaSignsOpensslVerifies()
    {
        auto key = PrivateKey::generate();
        QVERIFY(key.has_value());
        QVERIFY(writeKeyPairPem(*key, path("stoa.key"), path("stoa.pub")).has_value());
        QCOMPARE(QFile::permissions(path("stoa.key")) & (QFile::ReadGroup | QFile::ReadOther), QFile::Permissions());
        // Refuses to overwrite a key.
        QCOMPARE(outcome(writeKeyPairPem(*key, path("stoa.key"), path("other.pub"))), QStringLiteral("Io"));

        // openssl accepts both PEM files and derives the same public key.
        QCOMPARE(openssl({"pkey", "-in", path("stoa.key"), "-pubout", "-out", path("derived.pub")}).exitCode, 0);
        QCOMPARE(readFile(path("derived.pub")), readFile(path("stoa.pub")));

        const QByteArray type = kKeysPayloadType;
        const QByteArray payload = "{\"version\": 1}\n";
        auto envelope = signEnvelope(type, payload, std::vector{*key});
        QVERIFY(envelope.has_value());
        const QJsonObject o = QJsonDocument::fromJson(*envelope).object();
        const QByteArray body = QByteArray::fromBase64(o.value("payload").toString().toLatin1());
        const QByteArray sig = QByteArray::fromBase64(
            o.value("signatures").toArray().at(0).toObject().value("sig").toString().toLatin1());
        QCOMPARE(body, payload);
        writeFile(path("stoa-pae.bin"), handPae(o.value("payloadType").toString().toLatin1(), body));
        writeFile(path("stoa.sig"), sig);

        const Run ok = openssl({"pkeyutl", "-verify", "-pubin", "-inkey", path("stoa.pub"), "-rawin",
                                "-in", path("stoa-pae.bin"), "-sigfile", path("stoa.sig")});
        QVERIFY2(ok.exitCode == 0, ok.describe().constData());
        QVERIFY(ok.out.contains("Signature Verified Successfully"));

        // The same command does fail on other bytes (the check above can fail).
        writeFile(path("other-pae.bin"), handPae(type, "{\"version\": 2}\n"));
        const Run bad = openssl({"pkeyutl", "-verify", "-pubin", "-inkey", path("stoa.pub"), "-rawin",
                                 "-in", path("other-pae.bin"), "-sigfile", path("stoa.sig")});
        QVERIFY(bad.exitCode != 0);
    }

    void publicKeyFileWithSeveralKeys()
    {
        QCOMPARE(openssl({"genpkey", "-algorithm", "ed25519", "-out", path("k1.pem")}).exitCode, 0);
        QCOMPARE(openssl({"genpkey", "-algorithm", "ed25519", "-out", path("k2.pem")}).exitCode, 0);
        QCOMPARE(openssl({"pkey", "-in", path("k1.pem"), "-pubout", "-out", path("p1.pem")}).exitCode, 0);
        QCOMPARE(openssl({"pkey", "-in", path("k2.pem"), "-pubout", "-out", path("p2.pem")}).exitCode, 0);
        const QByteArray both = "# fleet roots\n" + readFile(path("p1.pem")) + "\n" + readFile(path("p2.pem"));
        auto keys = loadPublicKeysPem(both);
        QVERIFY2(keys.has_value(), keys ? "" : qPrintable(keys.error().reason));
        QCOMPARE(keys->size(), std::size_t(2));
        QVERIFY(keys->at(0).keyId() != keys->at(1).keyId());
        // A damaged second block refuses the whole file rather than trusting only the first key.
        QByteArray damaged = readFile(path("p1.pem")) + readFile(path("p2.pem"));
        damaged.insert(damaged.lastIndexOf("-----END"), "!!!!\n");
        QCOMPARE(outcome(loadPublicKeysPem(damaged)), QStringLiteral("BadKey"));
        QByteArray unterminated = readFile(path("p1.pem")) + readFile(path("p2.pem"));
        unterminated.truncate(unterminated.lastIndexOf("-----END"));
        QCOMPARE(outcome(loadPublicKeysPem(unterminated)), QStringLiteral("BadKey"));
    }

    void unusableKeyFilesRejected_data()
    {
        QTest::addColumn<QStringList>("genArgs"); // how openssl makes the file; empty: literal text
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("asPublic");
        QTest::newRow("rsa public key") << QStringList{"genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024"}
                                        << QByteArray() << true;
        QTest::newRow("ec private key") << QStringList{"genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}
                                        << QByteArray() << false;
        QTest::newRow("private key as public") << QStringList{"genpkey", "-algorithm", "ed25519"} << QByteArray() << true;
        QTest::newRow("empty public") << QStringList{} << QByteArray() << true;
        QTest::newRow("garbage private") << QStringList{} << QByteArray("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                                         << false;
        QTest::newRow("truncated public") << QStringList{} << QByteArray("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
                                          << true;
    }
    void unusableKeyFilesRejected()
    {
        QFETCH(QStringList, genArgs);
        QFETCH(QByteArray, text);
        QFETCH(bool, asPublic);
        if (!genArgs.isEmpty()) {
            QCOMPARE(openssl(genArgs + QStringList{"-out", path("gen.pem")}).exitCode, 0);
            if (asPublic && !genArgs.contains("ed25519")) {
                QCOMPARE(openssl({"pkey", "-in", path("gen.pem"), "-pubout", "-out", path("gen.pub")}).exitCode, 0);
                text = readFile(path("gen.pub"));
            } else {
                text = readFile(path("gen.pem"));
            }
        }
        if (asPublic) {
            auto r = loadPublicKeysPem(text);
            QCOMPARE(outcome(r), QStringLiteral("BadKey"));
            QVERIFY(!r.error().reason.isEmpty());
        } else {
            QCOMPARE(outcome(loadPrivateKeyPem(text)), QStringLiteral("BadKey"));
        }
    }

    void fuzzCorpusMadeByOpensslScriptVerifies()
    {
        // make-corpus.sh signs with a throw-away key and lists that key in
        // the keys document it also signs: use it as the trusted key.
        const QString dir = QStringLiteral(STOA_FUZZ_CORPUS_DIR);
        auto keysDoc = parseKeysDocument(readFile(dir + "/keys-payload.json"));
        QVERIFY2(keysDoc.has_value(), keysDoc ? "" : qPrintable(keysDoc.error().reason));
        const std::vector<PublicKey> trusted = keysDoc->keys;
        for (const char *name : {"manifest-envelope.json", "manifest-envelope-urlsafe.json"}) {
            auto r = verifyEnvelope(readFile(dir + "/" + name), kManifestPayloadType, trusted);
            QVERIFY2(r.has_value(), r ? name : qPrintable(r.error().reason));
            QCOMPARE(outcome(parseManifest(r->payload)), QStringLiteral("accepted"));
            QCOMPARE(r->payload, readFile(dir + "/manifest-payload.json"));
        }
        auto keys = verifyEnvelope(readFile(dir + "/keys-envelope.json"), kKeysPayloadType, trusted);
        QVERIFY2(keys.has_value(), keys ? "" : qPrintable(keys.error().reason));
    }

    void missingFileIsIoError()
    {
        QCOMPARE(outcome(loadPublicKeysPemFile(path("does-not-exist.pem"))), QStringLiteral("Io"));
        QCOMPARE(outcome(loadPrivateKeyPemFile(path("does-not-exist.pem"))), QStringLiteral("Io"));
    }
};

QTEST_GUILESS_MAIN(TestOpensslInterop)
#include "tst_openssl_interop.moc"
