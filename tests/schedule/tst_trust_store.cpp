// tests/schedule/tst_trust_store.cpp — keys documents and rotation (§4):
// root-signed adoption, monotonic versions, revocation by omission, the
// root recovery path, thresholds, expiry and re-deriving state after restart.
#include "signed_documents.h"

#include "schedule/trust_store.h"

#include <QObject>
#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

class TestTrustStore : public QObject {
    Q_OBJECT

    PrivateKey m_root = newKey();
    PrivateKey m_s1 = newKey();
    PrivateKey m_s2 = newKey();
    PrivateKey m_s3 = newKey();
    const QDateTime m_now = at("2027-01-01T00:00:00Z");

    TrustStore freshStore() const { return TrustStore({m_root.publicKey()}); }
    QByteArray manifestBy(std::vector<PrivateKey> keys) const { return signedManifest(validManifest(), std::move(keys)); }

private slots:
    void rootSignsManifestsWithoutKeysDocument()
    {
        const TrustStore store = freshStore();
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_root}), m_now)), QStringLiteral("accepted"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1}), m_now)), QStringLiteral("NotSigned"));
    }

    void adoptedKeysDocumentAuthorisesSigningKeys()
    {
        TrustStore store = freshStore();
        auto doc = store.adoptKeysEnvelope(signedKeysDocument(keysDocument(3, {m_s1, m_s2}), {m_root}), m_now);
        QVERIFY2(doc.has_value(), doc ? "" : qPrintable(doc.error().reason));
        QCOMPARE(doc->version, 3);
        QCOMPARE(doc->keys.size(), std::size_t(2));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1}), m_now)), QStringLiteral("accepted"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s2}), m_now)), QStringLiteral("accepted"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s3}), m_now)), QStringLiteral("NotSigned"));
    }

    void rootSignedManifestStillAcceptedWithKeysDocumentInForce()
    {
        TrustStore store = freshStore();
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1}, 1), {m_root}), m_now));
        auto r = store.verifyManifestEnvelope(manifestBy({m_root}), m_now);
        QCOMPARE(outcome(r), QStringLiteral("accepted"));
        QCOMPARE(r->signers, std::vector<std::string>{m_root.publicKey().keyId()});
    }

    void revokedKeyRejected()
    {
        TrustStore store = freshStore();
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1, m_s2}), {m_root}), m_now));
        const QByteArray byS1 = manifestBy({m_s1});
        QCOMPARE(outcome(store.verifyManifestEnvelope(byS1, m_now)), QStringLiteral("accepted"));
        // Version 2 omits s1: revoked.
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(2, {m_s2}), {m_root}), m_now));
        auto r = store.verifyManifestEnvelope(byS1, m_now);
        QCOMPARE(outcome(r), QStringLiteral("NotSigned"));
        QVERIFY2(r.error().reason.contains("version 2"), qPrintable(r.error().reason));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s2}), m_now)), QStringLiteral("accepted"));
    }

    void keysDocumentRollbackRejected()
    {
        TrustStore store = freshStore();
        const QByteArray v1 = signedKeysDocument(keysDocument(1, {m_s1}), {m_root});
        const QByteArray v2 = signedKeysDocument(keysDocument(2, {m_s2}), {m_root});
        QVERIFY(store.adoptKeysEnvelope(v2, m_now));
        auto older = store.adoptKeysEnvelope(v1, m_now);
        QCOMPARE(outcome(older), QStringLiteral("NotNewer"));
        QCOMPARE(older.error().reason, QStringLiteral("keys document version 1 is not newer than adopted 2"));
        QCOMPARE(outcome(store.adoptKeysEnvelope(v2, m_now)), QStringLiteral("NotNewer")); // same version
        QCOMPARE(store.keysDocument()->version, 2); // unchanged
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1}), m_now)), QStringLiteral("NotSigned"));
    }

    void keysDocumentMustBeRootSigned()
    {
        TrustStore store = freshStore();
        // Signed by a signing key that it lists itself: no.
        QCOMPARE(outcome(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1}), {m_s1}), m_now)),
                 QStringLiteral("NotSigned"));
        // Once a keys document is in force, its signing keys still can't sign the next one.
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1}), {m_root}), m_now));
        QCOMPARE(outcome(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(2, {m_s1, m_s3}), {m_s1}), m_now)),
                 QStringLiteral("NotSigned"));
        // A manifest envelope is not a keys document.
        QCOMPARE(outcome(store.adoptKeysEnvelope(manifestBy({m_root}), m_now)), QStringLiteral("WrongPayloadType"));
        QCOMPARE(store.keysDocument()->version, 1);
    }

    void expiredKeysDocument()
    {
        TrustStore store = freshStore();
        const QByteArray doc = signedKeysDocument(keysDocument(1, {m_s1}, 1, "2027-06-01T00:00:00Z"), {m_root});
        QCOMPARE(outcome(store.adoptKeysEnvelope(doc, at("2027-06-01T00:00:00Z"))), QStringLiteral("Expired"));
        QVERIFY(store.adoptKeysEnvelope(doc, at("2027-05-31T23:59:59Z")));
        // Adopted, then it expires: its signing keys stop counting, roots still do.
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1}), at("2027-05-31T12:00:00Z"))), QStringLiteral("accepted"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1}), at("2027-06-02T00:00:00Z"))), QStringLiteral("NotSigned"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_root}), at("2027-06-02T00:00:00Z"))), QStringLiteral("accepted"));
    }

    void thresholdFromKeysDocument()
    {
        TrustStore store = freshStore();
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1, m_s2, m_s3}, 2), {m_root}), m_now));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1}), m_now)), QStringLiteral("NotSigned"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1, m_s1}), m_now)), QStringLiteral("NotSigned"));
        QCOMPARE(outcome(store.verifyManifestEnvelope(manifestBy({m_s1, m_s3}), m_now)), QStringLiteral("accepted"));
    }

    void restoreFromPersistedBytes()
    {
        const QByteArray persisted = signedKeysDocument(keysDocument(5, {m_s1}), {m_root});
        {
            TrustStore before = freshStore();
            QVERIFY(before.adoptKeysEnvelope(persisted, m_now));
        }
        // "Restart": a new store re-derives the same state from the bytes,
        // even at a trusted time past the document's expiry.
        TrustStore after = freshStore();
        auto restored = after.restoreKeysEnvelope(persisted);
        QCOMPARE(outcome(restored), QStringLiteral("accepted"));
        QCOMPARE(after.keysDocument()->version, 5);
        QCOMPARE(outcome(after.verifyManifestEnvelope(manifestBy({m_s1}), m_now)), QStringLiteral("accepted"));
        QCOMPARE(outcome(after.adoptKeysEnvelope(signedKeysDocument(keysDocument(4, {m_s2}), {m_root}), m_now)),
                 QStringLiteral("NotNewer"));
        // Re-provisioned with another root: the stored document no longer counts.
        TrustStore otherRoot({m_s3.publicKey()});
        QCOMPARE(outcome(otherRoot.restoreKeysEnvelope(persisted)), QStringLiteral("NotSigned"));
        QVERIFY(!otherRoot.keysDocument().has_value());
    }

    void malformedKeysDocuments_data()
    {
        QTest::addColumn<QByteArray>("payload");
        const QJsonObject good = keysDocument(1, {m_s1, m_s2});
        auto with = [&](const char *key, const QJsonValue &v) {
            QJsonObject o = good;
            if (v.isUndefined()) o.remove(QLatin1String(key));
            else o.insert(QLatin1String(key), v);
            return toJson(o);
        };
        auto key0 = [&](const char *key, const QJsonValue &v) {
            QJsonObject o = good;
            QJsonArray keys = o.value("keys").toArray();
            QJsonObject k = keys.at(0).toObject();
            k.insert(QLatin1String(key), v);
            keys.replace(0, k);
            o.insert("keys", keys);
            return toJson(o);
        };
        const QString s2id = QString::fromStdString(m_s2.publicKey().keyId());
        QTest::newRow("not json") << QByteArray("{");
        QTest::newRow("version missing") << with("version", QJsonValue::Undefined);
        QTest::newRow("version string") << with("version", "3");
        QTest::newRow("version fraction") << with("version", 1.5);
        QTest::newRow("version negative") << with("version", -1);
        QTest::newRow("expires missing") << with("expires_at", QJsonValue::Undefined);
        QTest::newRow("expires local time") << with("expires_at", "2099-01-01T00:00:00");
        QTest::newRow("threshold zero") << with("threshold", 0);
        QTest::newRow("threshold above keys") << with("threshold", 3);
        QTest::newRow("threshold string") << with("threshold", "1");
        QTest::newRow("keys missing") << with("keys", QJsonValue::Undefined);
        QTest::newRow("keys empty") << with("keys", QJsonArray{});
        QTest::newRow("key not object") << with("keys", QJsonArray{"x"});
        QTest::newRow("keyid mismatch") << key0("keyid", s2id);
        QTest::newRow("public_key short") << key0("public_key", QString::fromLatin1(QByteArray(31, 'k').toBase64()));
        QTest::newRow("public_key bad base64") << key0("public_key", "*");
        QTest::newRow("same key twice") << with("keys", QJsonArray{good.value("keys").toArray().at(1), good.value("keys").toArray().at(1)});
        QTest::newRow("duplicate json key") << QByteArray(toJson(good)).replace("\"version\":1", "\"version\":1,\"version\":9");
    }
    void malformedKeysDocuments()
    {
        QFETCH(QByteArray, payload);
        auto direct = parseKeysDocument(payload);
        QCOMPARE(outcome(direct), QStringLiteral("MalformedPayload"));
        QVERIFY(direct.error().reason.startsWith(QLatin1String("malformed keys document: ")));
        TrustStore store = freshStore();
        QCOMPARE(outcome(store.adoptKeysEnvelope(signedEnvelope(kKeysPayloadType, payload, {m_root}), m_now)),
                 QStringLiteral("MalformedPayload"));
        QVERIFY(!store.keysDocument().has_value());
    }

    void validKeysDocumentParsesAndDefaultsThreshold()
    {
        QJsonObject o = keysDocument(7, {m_s1, m_s2});
        o.remove("threshold");
        o.insert("comment", "unknown fields are ignored");
        auto doc = parseKeysDocument(toJson(o));
        QVERIFY2(doc.has_value(), doc ? "" : qPrintable(doc.error().reason));
        QCOMPARE(doc->threshold, 1);
        QCOMPARE(doc->expiresAt, at("2099-01-01T00:00:00Z"));
        QCOMPARE(doc->keys.at(1).keyId(), m_s2.publicKey().keyId());
        QVERIFY(!doc->manifestVersionFloor); // absent: changes no floor (v1.1 §11)
    }

    // v1.1 §11: the field is parsed as a non-negative integer; anything else
    // makes the document malformed rather than silently changing no floor.
    void manifestVersionFloorField()
    {
        QJsonObject o = keysDocument(2, {m_s1});
        o.insert("manifest_version_floor", 41);
        auto doc = parseKeysDocument(toJson(o));
        QVERIFY2(doc.has_value(), doc ? "" : qPrintable(doc.error().reason));
        QCOMPARE(doc->manifestVersionFloor.value_or(-1), 41);
        o.insert("manifest_version_floor", 0);
        QCOMPARE(parseKeysDocument(toJson(o))->manifestVersionFloor.value_or(-1), 0);
        for (const QJsonValue &bad : {QJsonValue(-1), QJsonValue("41"), QJsonValue(4.5), QJsonValue(), QJsonValue(QJsonArray{1})}) {
            o.insert("manifest_version_floor", bad);
            auto refused = parseKeysDocument(toJson(o));
            QCOMPARE(outcome(refused), QStringLiteral("MalformedPayload"));
            QVERIFY(refused.error().reason.contains("manifest_version_floor"));
        }
    }

    // A signing key (stolen, or used by mistake) cannot reset anything: the
    // refusal says it is not a root signature and names the signing key.
    void keysDocumentBySigningKeyNamesTheKey()
    {
        TrustStore store = freshStore();
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1}), {m_root}), m_now));
        QJsonObject forged = keysDocument(2, {m_s2});
        forged.insert("manifest_version_floor", 0);
        auto r = store.adoptKeysEnvelope(signedKeysDocument(forged, {m_s1}), m_now);
        QCOMPARE(outcome(r), QStringLiteral("NotSigned"));
        QVERIFY2(r.error().reason.contains("not signed by a root key"), qPrintable(r.error().reason));
        QVERIFY2(r.error().reason.contains(QString::fromStdString(m_s1.publicKey().keyId())), qPrintable(r.error().reason));
        QCOMPARE(store.keysDocument()->version, 1);
    }

    // v1.1 §11 signer_revoked: the key set in force no longer vouches for a
    // manifest adopted under an older one. Root signatures never lapse;
    // expiry is not revocation.
    void signersStillTrusted()
    {
        TrustStore store = freshStore();
        const QByteArray byS1 = manifestBy({m_s1});
        const QByteArray byRoot = manifestBy({m_root});
        QVERIFY(!store.signersStillTrusted(byS1)); // no keys document: only roots count
        QVERIFY(store.signersStillTrusted(byRoot));
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(1, {m_s1, m_s2}, 1, "2027-02-01T00:00:00Z"), {m_root}), m_now));
        QVERIFY(store.signersStillTrusted(byS1));
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(2, {m_s2}, 1, "2027-02-01T00:00:00Z"), {m_root}), m_now));
        QVERIFY(!store.signersStillTrusted(byS1));
        QVERIFY(store.signersStillTrusted(manifestBy({m_s2})));
        QVERIFY(store.signersStillTrusted(byRoot));
        QVERIFY(!store.signersStillTrusted(QByteArray("not an envelope")));
        // Threshold 2: one of the two signatures is no longer enough.
        QVERIFY(store.adoptKeysEnvelope(signedKeysDocument(keysDocument(3, {m_s2, m_s3}, 2), {m_root}), m_now));
        QVERIFY(!store.signersStillTrusted(manifestBy({m_s2})));
        QVERIFY(store.signersStillTrusted(manifestBy({m_s2, m_s3})));
    }
};

QTEST_GUILESS_MAIN(TestTrustStore)
#include "tst_trust_store.moc"
