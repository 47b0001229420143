// tests/schedule/tst_digest.cpp — schedule::Digest, the one checked shape of
// a SHA-256 name (asset references, blob file names, key ids), and the one
// SHA-256 implementation behind it. The check is the protocol's: exactly 64
// lowercase hex digits, "sha256:" in front in the manifest's form; anything
// else must not become a Digest, since every later layer (the store's file
// paths, the blob URLs) trusts it. The hasher is checked against FIPS 180-2
// vectors and, fed in odd chunks, against its own one-shot result.
#include "schedule/digest.h"

#include <QCryptographicHash>
#include <QTest>

#include <map>
#include <unordered_set>

using namespace stoa::schedule;

namespace {

const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

} // namespace

class TestDigest : public QObject {
    Q_OBJECT
private slots:
    void acceptsLowercaseHex();
    void rejectsOtherText_data();
    void rejectsOtherText();
    void refRoundTrips();
    void rejectsBadRefs_data();
    void rejectsBadRefs();
    void ordersAndHashesByHex();
    void knownVectors();
    void chunkedEqualsOneShot();
};

void TestDigest::acceptsLowercaseHex()
{
    const std::string all = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const auto d = Digest::fromHex(all);
    QVERIFY(d);
    QCOMPARE(d->hex(), all);
    QVERIFY(Digest::fromHex(kEmpty));
}

void TestDigest::rejectsOtherText_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("empty") << QString();
    QTest::newRow("63 digits") << QString::fromStdString(kAbc.substr(0, 63));
    QTest::newRow("65 digits") << QString::fromStdString(kAbc + "0");
    QTest::newRow("uppercase") << QString::fromStdString(kAbc).toUpper();
    QTest::newRow("one uppercase digit") << QString::fromStdString("A" + kAbc.substr(1));
    QTest::newRow("g") << QString::fromStdString("g" + kAbc.substr(1));
    QTest::newRow("space") << QString::fromStdString(kAbc.substr(0, 63) + " ");
    QTest::newRow("path") << QString::fromStdString("../" + kAbc.substr(3));
    QTest::newRow("with prefix") << QString::fromStdString("sha256:" + kAbc);
}

void TestDigest::rejectsOtherText()
{
    QFETCH(QString, text);
    QVERIFY(!Digest::fromHex(text.toStdString()));
    // A NUL inside the 64 characters is not a digit either.
    std::string withNul = kAbc;
    withNul[10] = '\0';
    QVERIFY(!Digest::fromHex(withNul));
}

void TestDigest::refRoundTrips()
{
    const auto d = Digest::fromRef("sha256:" + kAbc);
    QVERIFY(d);
    QCOMPARE(d->hex(), kAbc);
    QCOMPARE(d->ref(), "sha256:" + kAbc);
    QCOMPARE(Digest::fromRef(d->ref()), d);
    QCOMPARE(Digest::fromHex(d->hex()), d);
}

void TestDigest::rejectsBadRefs_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("bare hex") << QString::fromStdString(kAbc);
    QTest::newRow("SHA256: prefix") << QString::fromStdString("SHA256:" + kAbc);
    QTest::newRow("sha512: prefix") << QString::fromStdString("sha512:" + kAbc);
    QTest::newRow("no colon") << QString::fromStdString("sha256" + kAbc);
    QTest::newRow("space after colon") << QString::fromStdString("sha256: " + kAbc);
    QTest::newRow("prefix only") << QStringLiteral("sha256:");
    QTest::newRow("short hex") << QString::fromStdString("sha256:" + kAbc.substr(1));
    QTest::newRow("uppercase hex") << QString::fromStdString("sha256:" + QString::fromStdString(kAbc).toUpper().toStdString());
}

void TestDigest::rejectsBadRefs()
{
    QFETCH(QString, text);
    QVERIFY(!Digest::fromRef(text.toStdString()));
}

void TestDigest::ordersAndHashesByHex()
{
    const auto a = *Digest::fromHex(std::string(64, 'a'));
    const auto b = *Digest::fromHex(std::string(64, 'b'));
    QVERIFY(a < b);
    QVERIFY(a != b);
    QCOMPARE(a, *Digest::fromHex(std::string(64, 'a')));
    std::map<Digest, int> ordered{{b, 2}, {a, 1}};
    QCOMPARE(ordered.begin()->first, a);
    std::unordered_set<Digest> set{a, b, *Digest::fromRef("sha256:" + std::string(64, 'a'))};
    QCOMPARE(set.size(), std::size_t(2));
}

void TestDigest::knownVectors()
{
    QCOMPARE(sha256(QByteArrayView()).hex(), kEmpty);
    QCOMPARE(sha256(QByteArrayView("abc")).hex(), kAbc);
    QCOMPARE(sha256(QByteArrayView("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).hex(),
             std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    const std::string abc = "abc";
    QCOMPARE(sha256(std::as_bytes(std::span(abc))).hex(), kAbc);
    Sha256 fresh;
    QCOMPARE(fresh.finish().hex(), kEmpty);
}

void TestDigest::chunkedEqualsOneShot()
{
    // 1 MiB + 4321 bytes of a pattern that is not periodic in any chunk size.
    QByteArray big((1 << 20) + 4321, Qt::Uninitialized);
    std::uint32_t x = 2463534242u;
    for (char &c : big) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = char(x & 0xff);
    }
    const Digest whole = sha256(big);
    // An independent implementation (Qt's) agrees on the same bytes.
    QCOMPARE(whole.hex(), QCryptographicHash::hash(big, QCryptographicHash::Sha256).toHex().toStdString());

    Sha256 h;
    const qsizetype sizes[] = {1, 63, 64, 65, 4097, 65537, 333333};
    qsizetype at = 0;
    for (int i = 0; at < big.size(); ++i) {
        const qsizetype n = std::min(sizes[i % std::size(sizes)], big.size() - at);
        if (i % 2)
            h.update(QByteArrayView(big).sliced(at, n));
        else
            h.update(std::as_bytes(std::span(big.constData() + at, std::size_t(n))));
        at += n;
    }
    QCOMPARE(h.finish(), whole);
}

QTEST_GUILESS_MAIN(TestDigest)
#include "tst_digest.moc"
