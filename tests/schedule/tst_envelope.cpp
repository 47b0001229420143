// tests/schedule/tst_envelope.cpp — DSSE envelope rules of protocol-v1 §2:
// encodings, PAE, parsing limits and every signature-counting rule.
#include "signed_documents.h"

#include "schedule/encoding.h"
#include "schedule/envelope.h"

#include <QJsonDocument>
#include <QObject>
#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

namespace {

// Envelope JSON with hand-made signature entries (keyid, base64 text).
QByteArray assemble(const QByteArray &type, const QString &payloadB64,
                    const QList<QPair<QString, QString>> &sigs)
{
    QJsonArray array;
    for (const auto &[keyid, sig] : sigs) array.append(QJsonObject{{"keyid", keyid}, {"sig", sig}});
    return toJson(QJsonObject{{"payloadType", QString::fromUtf8(type)}, {"payload", payloadB64}, {"signatures", array}});
}

QString b64(const QByteArray &bytes) { return QString::fromLatin1(encodeBase64(bytes)); }
QString id(const PrivateKey &k) { return QString::fromStdString(k.publicKey().keyId()); }
QString sigOf(const PrivateKey &k, const QByteArray &type, const QByteArray &payload)
{
    return b64(*k.sign(pae(type, payload)));
}

} // namespace

class TestEnvelope : public QObject {
    Q_OBJECT

    PrivateKey m_a = newKey();
    PrivateKey m_b = newKey();
    const QByteArray m_type = kManifestPayloadType;
    const QByteArray m_payload = R"({"hello":"world"})";

    std::vector<PublicKey> trusted() const { return {m_a.publicKey(), m_b.publicKey()}; }

    QString rejectionOf(const QByteArray &json, int threshold = 1) const
    {
        return outcome(verifyEnvelope(json, m_type, trusted(), threshold));
    }

private slots:
    void paeMatchesDsseDefinition()
    {
        // The example from the DSSE specification (protocol.md of secure-systems-lab/dsse).
        QCOMPARE(pae("http://example.com/HelloWorld", "hello world"),
                 QByteArray("DSSEv1 29 http://example.com/HelloWorld 11 hello world"));
        QCOMPARE(pae("t", ""), QByteArray("DSSEv1 1 t 0 "));
        // Lengths are bytes, not characters.
        QCOMPARE(pae("t", "\xc3\xa6"), QByteArray("DSSEv1 1 t 2 \xc3\xa6"));
    }

    void base64Decoding_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QByteArray>("bytes");
        const QByteArray bin("\xfb\xff\xbf", 3);
        QTest::newRow("standard padded") << QByteArray("aGk=") << true << QByteArray("hi");
        QTest::newRow("standard unpadded") << QByteArray("aGk") << true << QByteArray("hi");
        QTest::newRow("two pad") << QByteArray("aA==") << true << QByteArray("h");
        QTest::newRow("two pad missing") << QByteArray("aA") << true << QByteArray("h");
        QTest::newRow("std alphabet") << QByteArray("+/+/") << true << bin;
        QTest::newRow("url alphabet") << QByteArray("-_-_") << true << bin;
        QTest::newRow("empty") << QByteArray("") << true << QByteArray();
        QTest::newRow("mixed alphabets") << QByteArray("+_+/") << false << QByteArray();
        QTest::newRow("whitespace") << QByteArray("aG k=") << false << QByteArray();
        QTest::newRow("newline") << QByteArray("aGk=\n") << false << QByteArray();
        QTest::newRow("bad char") << QByteArray("aG*=") << false << QByteArray();
        QTest::newRow("one char group") << QByteArray("aGkxa") << false << QByteArray();
        QTest::newRow("wrong padding") << QByteArray("aGk==") << false << QByteArray();
        QTest::newRow("pad in middle") << QByteArray("aG=k") << false << QByteArray();
        QTest::newRow("non-zero tail bits") << QByteArray("aGl=") << false << QByteArray();
    }
    void base64Decoding()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, ok);
        QFETCH(QByteArray, bytes);
        const auto decoded = decodeBase64(text);
        QCOMPARE(decoded.has_value(), ok);
        if (ok) QCOMPARE(*decoded, bytes);
    }

    void base64RoundTripsEveryLength()
    {
        QByteArray data;
        for (int n = 0; n < 70; ++n) {
            const QByteArray encoded = encodeBase64(data);
            QCOMPARE(encoded, data.toBase64()); // Qt's standard padded encoder agrees
            QCOMPARE(decodeBase64(encoded).value_or("<fail>"), data);
            data.append(char(n * 37 + 11));
        }
    }

    void validEnvelopeVerifies()
    {
        const QByteArray json = signedEnvelope(m_type, m_payload, {m_a});
        auto r = verifyEnvelope(json, m_type, trusted());
        QVERIFY2(r.has_value(), r ? "" : qPrintable(r.error().reason));
        QCOMPARE(r->payload, m_payload);
        QCOMPARE(r->signers, std::vector<std::string>{m_a.publicKey().keyId()});
    }

    void writerEmitsStandardPaddedBase64()
    {
        const QByteArray payload = "\xfb\xff"; // encodes with '/' and one '='
        const QJsonObject o = QJsonDocument::fromJson(signedEnvelope(m_type, payload, {m_a})).object();
        QCOMPARE(o.value("payload").toString(), QStringLiteral("+/8="));
        const QString sig = o.value("signatures").toArray().at(0).toObject().value("sig").toString();
        QCOMPARE(sig.size(), 88); // 64 bytes, padded
        QVERIFY(sig.endsWith(QLatin1String("==")));
    }

    void urlSafeAndUnpaddedAccepted()
    {
        const QByteArray payload = QByteArray(m_payload).append("\xfb\xff\xfe", 3); // forces '+' '/' in base64
        auto urlSafe = [](QString s) {
            s.replace('+', '-').replace('/', '_');
            while (s.endsWith('=')) s.chop(1);
            return s;
        };
        const QString sig = sigOf(m_a, m_type, payload);
        QVERIFY(b64(payload).contains('/') || b64(payload).contains('+'));
        const QByteArray json = assemble(m_type, urlSafe(b64(payload)), {{id(m_a), urlSafe(sig)}});
        auto r = verifyEnvelope(json, m_type, trusted());
        QVERIFY2(r.has_value(), r ? "" : qPrintable(r.error().reason));
        QCOMPARE(r->payload, payload);
    }

    void tamperedPayloadRejected()
    {
        const QByteArray other = R"({"hello":"wOrld"})";
        const QByteArray json = assemble(m_type, b64(other), {{id(m_a), sigOf(m_a, m_type, m_payload)}});
        QCOMPARE(rejectionOf(json), "NotSigned");
    }

    void tamperedPayloadTypeRejected()
    {
        // Signed as a keys document, presented as a manifest: the type is inside PAE.
        const QByteArray json = assemble(m_type, b64(m_payload), {{id(m_a), sigOf(m_a, kKeysPayloadType, m_payload)}});
        QCOMPARE(rejectionOf(json), "NotSigned");
        // And the unmodified keys envelope is refused where a manifest is expected.
        QCOMPARE(rejectionOf(signedEnvelope(kKeysPayloadType, m_payload, {m_a})), "WrongPayloadType");
    }

    void unknownPayloadTypeRejected()
    {
        const QByteArray type = "application/vnd.stoa.manifest+json; version=2";
        const QByteArray json = assemble(type, b64(m_payload), {{id(m_a), sigOf(m_a, type, m_payload)}});
        auto parsed = parseEnvelope(json);
        QVERIFY(!parsed);
        QCOMPARE(parsed.error().code, RejectCode::UnsupportedPayloadType);
        QVERIFY(!signEnvelope(type, m_payload, std::vector{m_a}));
    }

    void signatureMovedToAnotherPayloadRejected()
    {
        const QByteArray first = R"({"n":1})";
        const QByteArray second = R"({"n":2})";
        const QString sigOfFirst = sigOf(m_a, m_type, first);
        QCOMPARE(rejectionOf(assemble(m_type, b64(first), {{id(m_a), sigOfFirst}})), "accepted"); // valid
        QCOMPARE(rejectionOf(assemble(m_type, b64(second), {{id(m_a), sigOfFirst}})), "NotSigned");
    }

    void wrongKeyidRejected()
    {
        // A's signature labelled as B's: checked against B's key, fails.
        const QByteArray json = assemble(m_type, b64(m_payload), {{id(m_b), sigOf(m_a, m_type, m_payload)}});
        QCOMPARE(rejectionOf(json), "NotSigned");
        // Uppercase hex is not the keyid.
        const QByteArray upper = assemble(m_type, b64(m_payload), {{id(m_a).toUpper(), sigOf(m_a, m_type, m_payload)}});
        QCOMPARE(rejectionOf(upper), "NotSigned");
    }

    void unknownKeyidsIgnored()
    {
        const PrivateKey stranger = newKey();
        const QByteArray onlyUnknown = signedEnvelope(m_type, m_payload, {stranger});
        auto r = verifyEnvelope(onlyUnknown, m_type, trusted());
        QVERIFY(!r);
        QCOMPARE(r.error().code, RejectCode::NotSigned);
        QVERIFY2(r.error().reason.contains("none with a trusted keyid"), qPrintable(r.error().reason));
        // Unknown signatures (even garbage ones) next to a good one do no harm.
        const QByteArray mixed = assemble(m_type, b64(m_payload),
                                          {{id(stranger), b64(QByteArray(64, 'x'))},
                                           {QString(), b64(QByteArray(3, 'y'))},
                                           {id(m_a), sigOf(m_a, m_type, m_payload)}});
        QCOMPARE(rejectionOf(mixed), "accepted");
    }

    void duplicatedSignaturesCountOnce()
    {
        const QString sig = sigOf(m_a, m_type, m_payload);
        const QByteArray twiceA = assemble(m_type, b64(m_payload), {{id(m_a), sig}, {id(m_a), sig}});
        QCOMPARE(rejectionOf(twiceA, 2), "NotSigned");
        QCOMPARE(rejectionOf(twiceA, 1), "accepted");
        // The same public key trusted twice is still one key.
        std::vector<PublicKey> doubled{m_a.publicKey(), m_a.publicKey()};
        QVERIFY(!verifyEnvelope(twiceA, m_type, doubled, 2));
        // Two distinct keys meet threshold 2.
        const QByteArray both = assemble(m_type, b64(m_payload), {{id(m_a), sig}, {id(m_b), sigOf(m_b, m_type, m_payload)}});
        auto r = verifyEnvelope(both, m_type, trusted(), 2);
        QVERIFY(r.has_value());
        QCOMPARE(r->signers.size(), std::size_t(2));
        // A bad signature first and a good one second under the same keyid still counts once.
        const QByteArray badThenGood = assemble(m_type, b64(m_payload), {{id(m_a), b64(QByteArray(64, 'z'))}, {id(m_a), sig}});
        QCOMPARE(rejectionOf(badThenGood, 1), "accepted");
        QCOMPARE(rejectionOf(badThenGood, 2), "NotSigned");
    }

    void oversizeRejectedBeforeParsing()
    {
        // Not even JSON: the size check must come first.
        const QByteArray huge(kMaxEnvelopeBytes + 1, '{');
        auto r = parseEnvelope(huge);
        QVERIFY(!r);
        QCOMPARE(r.error().code, RejectCode::Oversize);
        // A signed envelope just over the limit is refused too.
        const QByteArray bigPayload(kMaxEnvelopeBytes, 'a');
        QCOMPARE(rejectionOf(signedEnvelope(m_type, bigPayload, {m_a})), "Oversize");
    }

    void malformedEnvelopes_data()
    {
        QTest::addColumn<QByteArray>("json");
        const QString p = b64(m_payload);
        const QString s = sigOf(m_a, m_type, m_payload);
        const QString t = QString::fromUtf8(m_type);
        auto obj = [](const QJsonObject &o) { return toJson(o); };
        const QJsonArray sigs{QJsonObject{{"keyid", id(m_a)}, {"sig", s}}};
        QTest::newRow("not json") << QByteArray("nope");
        QTest::newRow("array") << QByteArray("[]");
        QTest::newRow("no payloadType") << obj({{"payload", p}, {"signatures", sigs}});
        QTest::newRow("no payload") << obj({{"payloadType", t}, {"signatures", sigs}});
        QTest::newRow("no signatures") << obj({{"payloadType", t}, {"payload", p}});
        QTest::newRow("payload number") << obj({{"payloadType", t}, {"payload", 5}, {"signatures", sigs}});
        QTest::newRow("signatures object") << obj({{"payloadType", t}, {"payload", p}, {"signatures", QJsonObject{}}});
        QTest::newRow("signature not object") << obj({{"payloadType", t}, {"payload", p}, {"signatures", QJsonArray{1}}});
        QTest::newRow("sig missing") << obj({{"payloadType", t}, {"payload", p}, {"signatures", QJsonArray{QJsonObject{{"keyid", id(m_a)}}}}});
        QTest::newRow("keyid number") << obj({{"payloadType", t}, {"payload", p}, {"signatures", QJsonArray{QJsonObject{{"keyid", 1}, {"sig", s}}}}});
        QTest::newRow("bad base64 payload") << obj({{"payloadType", t}, {"payload", p + "!"}, {"signatures", sigs}});
        QTest::newRow("bad base64 sig") << obj({{"payloadType", t}, {"payload", p}, {"signatures", QJsonArray{QJsonObject{{"keyid", id(m_a)}, {"sig", "a b"}}}}});
        QTest::newRow("duplicate payload key")
            << QStringLiteral(R"({"payloadType":"%1","payload":"%2","payload":"%2","signatures":[]})").arg(t, p).toUtf8();
    }
    void malformedEnvelopes()
    {
        QFETCH(QByteArray, json);
        auto r = verifyEnvelope(json, m_type, trusted());
        QVERIFY(!r);
        QCOMPARE(r.error().code, RejectCode::MalformedEnvelope);
        QVERIFY(!r.error().reason.isEmpty());
    }

    void emptySignatureListRejected()
    {
        QCOMPARE(rejectionOf(assemble(m_type, b64(m_payload), {})), "NotSigned");
    }

    void truncatedSignatureRejected()
    {
        QByteArray sig = *m_a.sign(pae(m_type, m_payload));
        sig.chop(1);
        QCOMPARE(rejectionOf(assemble(m_type, b64(m_payload), {{id(m_a), b64(sig)}})), "NotSigned");
    }
};

QTEST_GUILESS_MAIN(TestEnvelope)
#include "tst_envelope.moc"
