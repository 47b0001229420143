// tests/schedule/tst_acceptance.cpp — the device-side adoption rules of §3
// (rollback, freeze, audience) and the whole chain bytes -> verify -> parse
// -> accept, including that the payload is never parsed before a valid
// signature was found.
#include "signed_documents.h"

#include "schedule/acceptance.h"
#include "schedule/manifest_parse.h"

#include <QObject>
#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

class TestAcceptance : public QObject {
    Q_OBJECT

    PrivateKey m_root = newKey();
    PrivateKey m_signer = newKey();
    const TrustStore m_trust{{m_root.publicKey()}};

    static AcceptanceContext context(std::optional<std::int64_t> adopted = 41, const char *now = "2027-01-01T00:00:00Z",
                                     const QString &device = QStringLiteral("pi-lobby-01"))
    {
        return AcceptanceContext{adopted, at(now), device};
    }

    QString accept(const QJsonObject &manifest, const AcceptanceContext &ctx) const
    {
        return outcome(acceptManifestEnvelope(signedManifest(manifest, {m_root}), m_trust, ctx));
    }

private slots:
    void validManifestAccepted()
    {
        auto r = acceptManifestEnvelope(signedManifest(validManifest(42), {m_root}), m_trust, context());
        QVERIFY2(r.has_value(), r ? "" : qPrintable(r.error().reason));
        QCOMPARE(r->manifest.version, 42);
        QCOMPARE(r->payload, toJson(validManifest(42)));
        QCOMPARE(r->signers, std::vector<std::string>{m_root.publicKey().keyId()});
        // First manifest ever: no floor.
        QCOMPARE(accept(validManifest(0), context(std::nullopt)), QStringLiteral("accepted"));
    }

    void versionNotNewerRejected_data()
    {
        QTest::addColumn<qint64>("version");
        QTest::addColumn<qint64>("adopted");
        QTest::addColumn<QString>("expected");
        QTest::newRow("older") << qint64(41) << qint64(42) << "NotNewer";
        QTest::newRow("same") << qint64(42) << qint64(42) << "NotNewer";
        QTest::newRow("newer") << qint64(43) << qint64(42) << "accepted";
    }
    void versionNotNewerRejected()
    {
        QFETCH(qint64, version);
        QFETCH(qint64, adopted);
        QFETCH(QString, expected);
        QCOMPARE(accept(validManifest(version), context(adopted)), expected);
    }

    void rollbackReasonIsReadable()
    {
        auto r = acceptManifestEnvelope(signedManifest(validManifest(41), {m_root}), m_trust, context(42));
        QVERIFY(!r);
        QCOMPARE(r.error().reason, QStringLiteral("version 41 is not newer than adopted 42"));
    }

    void expiredByTrustedTime_data()
    {
        QTest::addColumn<QString>("expiresAt");
        QTest::addColumn<QString>("expected");
        QTest::newRow("past") << "2026-12-31T23:59:59Z" << "Expired";
        QTest::newRow("exactly now") << "2027-01-01T00:00:00Z" << "Expired";
        QTest::newRow("one second left") << "2027-01-01T00:00:01Z" << "accepted";
        QTest::newRow("offset notation, past") << "2027-01-01T00:30:00+01:00" << "Expired";
    }
    void expiredByTrustedTime()
    {
        QFETCH(QString, expiresAt);
        QFETCH(QString, expected);
        QJsonObject m = validManifest(42);
        m.insert("expires_at", expiresAt);
        QCOMPARE(accept(m, context()), expected);
    }

    void audience_data()
    {
        QTest::addColumn<QJsonArray>("devices");
        QTest::addColumn<QString>("expected");
        QTest::newRow("star") << QJsonArray{"*"} << "accepted";
        QTest::newRow("named") << QJsonArray{"pi-other", "pi-lobby-01"} << "accepted";
        QTest::newRow("star among ids") << QJsonArray{"pi-other", "*"} << "accepted";
        QTest::newRow("others only") << QJsonArray{"pi-other", "pi-lobby-02"} << "NotForThisDevice";
        QTest::newRow("case differs") << QJsonArray{"PI-LOBBY-01"} << "NotForThisDevice";
        QTest::newRow("prefix only") << QJsonArray{"pi-lobby-0"} << "NotForThisDevice";
    }
    void audience()
    {
        QFETCH(QJsonArray, devices);
        QFETCH(QString, expected);
        QJsonObject m = validManifest(42);
        m.insert("devices", devices);
        QCOMPARE(accept(m, context()), expected);
    }

    void checkAcceptanceReRunsReferenceCheck()
    {
        auto m = parseManifest(toJson(validManifest(42)));
        QVERIFY(m.has_value());
        QCOMPARE(outcome(checkAcceptance(*m, context())), QStringLiteral("accepted"));
        m->playlists.erase("breakfast"); // schedule[0] now dangles
        QCOMPARE(outcome(checkAcceptance(*m, context())), QStringLiteral("MalformedPayload"));
    }

    void payloadParsedOnlyAfterValidSignature()
    {
        // Garbage payload, unsigned by anyone trusted: the signature verdict
        // comes first, the payload is never judged.
        const QByteArray junk = "this is not json";
        const QString byStranger = outcome(acceptManifestEnvelope(
            signedEnvelope(kManifestPayloadType, junk, {newKey()}), m_trust, context()));
        QCOMPARE(byStranger, QStringLiteral("NotSigned"));
        // The same payload properly signed is then judged malformed.
        QCOMPARE(outcome(acceptManifestEnvelope(signedEnvelope(kManifestPayloadType, junk, {m_root}), m_trust, context())),
                 QStringLiteral("MalformedPayload"));
    }

    void signingKeyChainThroughEntryPoint()
    {
        TrustStore trust({m_root.publicKey()});
        QVERIFY(trust.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_signer}), {m_root}), at("2027-01-01T00:00:00Z")));
        QCOMPARE(outcome(acceptManifestEnvelope(signedManifest(validManifest(42), {m_signer}), trust, context())),
                 QStringLiteral("accepted"));
        QCOMPARE(outcome(acceptManifestEnvelope(signedManifest(validManifest(42), {m_signer}), m_trust, context())),
                 QStringLiteral("NotSigned"));
        QCOMPARE(outcome(acceptManifestEnvelope(signedKeysDocument(keysDocument(2, {m_signer}), {m_root}), trust, context())),
                 QStringLiteral("WrongPayloadType"));
    }

    void invalidTrustedTimeRejectsRatherThanCrashes()
    {
        AcceptanceContext ctx = context();
        ctx.trustedNow = QDateTime();
        QCOMPARE(accept(validManifest(42), ctx), QStringLiteral("Expired"));
    }
};

QTEST_GUILESS_MAIN(TestAcceptance)
#include "tst_acceptance.moc"
