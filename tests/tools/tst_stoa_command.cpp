// tests/tools/tst_stoa_command.cpp — the real `stoa` binary, end to end.
//
// keygen -> publish -> verify / inspect, run as an operator would, checking
// exit codes, the site layout of spec §1 byte for byte (blob names are the
// SHA-256 of their contents), versions, blob reuse, keys documents, and that
// the openssl command line accepts what stoa signs.
#include "stoa_process.h"

#include "schedule/encoding.h"
#include "schedule/envelope.h"
#include "schedule/keys.h"
#include "schedule/manifest_parse.h"
#include "schedule/trust_store.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimeZone>
#include <QTest>

#include <set>
#include <sys/stat.h>

using namespace stoa::schedule;

namespace {

const char kRestaurant[] = R"(# test restaurant
timezone = Europe/Oslo
default = lobby
display = 07:00-22:00

[playlist lobby]
welcome.png 8s
promo.mp4

[playlist breakfast]
eggs.jpg 6s cover

[playlist lunch]
"soup of the day.jpg" 6s

[window breakfast]
days = mon-fri
time = 06:00-10:30
priority = 10

[window weekend-lunch]
playlist = lunch
days = sat,sun
time = 11:00-14:00
priority = 5
)";

// The first Monday of 2030, found rather than assumed.
QDate firstMonday()
{
    QDate d(2030, 1, 1);
    while (d.dayOfWeek() != Qt::Monday) d = d.addDays(1);
    return d;
}

struct FileStamp {
    ino_t inode = 0;
    qint64 mtimeNs = 0;
    bool operator==(const FileStamp &) const = default;
};

FileStamp stampOf(const QString &path)
{
    struct stat st {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0) return {};
    return {st.st_ino, static_cast<qint64>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

} // namespace

class TestStoaCommand : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString m_inspectSite; // published once, inspected by every inspectAt row
    QString path(const QString &name) const { return m_tmp.filePath(name); }

    // A fresh source dir with the restaurant schedule and its media.
    QString makeSource(const QString &name)
    {
        const QString dir = path(name);
        [&] {
            writeFile(dir + "/schedule.ini", kRestaurant);
            writeFile(dir + "/welcome.png", fakeMedia("png-welcome", 3000));
            writeFile(dir + "/promo.mp4", fakeMedia("mp4-promo", 20000));
            writeFile(dir + "/eggs.jpg", fakeMedia("jpg-eggs", 1500));
            writeFile(dir + "/soup of the day.jpg", fakeMedia("jpg-soup", 1700));
        }();
        return dir;
    }

    void keygen(const QString &name)
    {
        const StoaRun r = runStoa({"keygen", "--out", path(name)});
        QCOMPARE(r.exitCode, 0);
    }

    void publish(const QStringList &extra, int expectedExit = 0)
    {
        const StoaRun r = runStoa(QStringList{"publish"} + extra);
        if (r.exitCode != expectedExit) qWarning().noquote() << r.out << r.err;
        QCOMPARE(r.exitCode, expectedExit);
    }

    static std::int64_t manifestVersion(const QString &envelopePath)
    {
        auto env = parseEnvelope(readFile(envelopePath));
        if (!env) return -1;
        auto m = parseManifest(env->payload);
        return m ? m->version : -1;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY(QFileInfo(QStringLiteral(STOA_BIN)).isExecutable());
    }

    void keygenWritesPemPairAndKeyId()
    {
        const StoaRun r = runStoa({"keygen", "--out", path("kg")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.err.isEmpty());
        QFile priv(path("kg.key"));
        QCOMPARE(priv.permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther),
                 QFile::Permissions());
        QVERIFY(readFile(path("kg.key")).startsWith("-----BEGIN PRIVATE KEY-----"));
        QVERIFY(readFile(path("kg.pub")).startsWith("-----BEGIN PUBLIC KEY-----"));
        auto pub = loadPublicKeysPemFile(path("kg.pub"));
        QVERIFY(pub && pub->size() == 1);
        auto key = loadPrivateKeyPemFile(path("kg.key"));
        QVERIFY(key);
        QCOMPARE(key->publicKey().keyId(), pub->front().keyId());
        QVERIFY(r.out.contains(QStringLiteral("keyid ") + QString::fromStdString(pub->front().keyId())));

        const QByteArray before = readFile(path("kg.key"));
        const StoaRun again = runStoa({"keygen", "--out", path("kg")});
        QCOMPARE(again.exitCode, 3);
        QVERIFY(again.err.contains("already exists"));
        QVERIFY(again.out.isEmpty());
        QCOMPARE(readFile(path("kg.key")), before);
    }

    void publishThenVerify()
    {
        keygen("pv");
        keygen("pv-other");
        const QString src = makeSource("pv-src"), site = path("pv-site");
        publish({"--key", path("pv.key"), "--source", src, "--out", site});

        const StoaRun ok = runStoa({"verify", "--trusted-keys", path("pv.pub"), site + "/v1/manifest.json"});
        QCOMPARE(ok.exitCode, 0);
        QVERIFY(ok.out.contains("valid: manifest"));
        QVERIFY(ok.out.contains("version: 1"));
        QVERIFY(ok.out.contains("audience: *"));
        QVERIFY(ok.err.isEmpty());

        const StoaRun wrongKey = runStoa({"verify", "--trusted-keys", path("pv-other.pub"), site + "/v1/manifest.json"});
        QCOMPARE(wrongKey.exitCode, 1);
        QVERIFY(wrongKey.out.isEmpty());
        QVERIFY2(wrongKey.err.contains("not valid") && wrongKey.err.contains("trusted"), qPrintable(wrongKey.err));

        const QDateTime late = QDateTime::currentDateTimeUtc().addDays(31);
        const StoaRun expired = runStoa({"verify", "--trusted-keys", path("pv.pub"), "--at", late.toString(Qt::ISODate), site});
        QCOMPARE(expired.exitCode, 1);
        QVERIFY2(expired.err.contains("expired"), qPrintable(expired.err));

        // Tampering with one payload byte breaks the signature.
        QJsonObject env = QJsonDocument::fromJson(readFile(site + "/v1/manifest.json")).object();
        QByteArray payload = QByteArray::fromBase64(env["payload"].toString().toLatin1());
        payload.replace("\"version\": 1", "\"version\": 9");
        env["payload"] = QString::fromLatin1(payload.toBase64());
        writeFile(path("pv-tampered.json"), QJsonDocument(env).toJson());
        const StoaRun tampered = runStoa({"verify", "--trusted-keys", path("pv.pub"), path("pv-tampered.json")});
        QCOMPARE(tampered.exitCode, 1);
    }

    void siteLayoutIsExactlySpec()
    {
        keygen("lay");
        const QString src = makeSource("lay-src"), site = path("lay-site");
        publish({"--key", path("lay.key"), "--source", src, "--out", site});

        std::set<QString> blobs;
        QDirIterator it(site, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        const QRegularExpression blobName(QStringLiteral("^v1/blobs/sha256/([0-9a-f]{64})$"));
        while (it.hasNext()) {
            const QString rel = QDir(site).relativeFilePath(it.next());
            if (rel == QLatin1String("v1/manifest.json")) continue;
            const auto m = blobName.match(rel);
            QVERIFY2(m.hasMatch(), qPrintable("unexpected file in site: " + rel));
            const QByteArray bytes = readFile(it.filePath());
            QCOMPARE(QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()), m.captured(1));
            QVERIFY(QFileInfo(it.filePath()).permissions() & QFile::ReadOther);
            blobs.insert(m.captured(1));
        }
        QVERIFY(QFileInfo(site + "/v1/manifest.json").permissions() & QFile::ReadOther);

        auto env = parseEnvelope(readFile(site + "/v1/manifest.json"));
        QVERIFY(env);
        QCOMPARE(env->payloadType, QByteArray(kManifestPayloadType));
        auto manifest = parseManifest(env->payload);
        QVERIFY2(manifest, manifest ? "" : qPrintable(manifest.error().reason));
        QVERIFY(checkReferences(*manifest));
        std::set<QString> declared;
        for (const auto &[ref, asset] : manifest->assets) {
            declared.insert(QString::fromStdString(ref.hex()));
            QCOMPARE(static_cast<qint64>(asset.size), QFileInfo(site + "/v1/blobs/sha256/" + QString::fromStdString(ref.hex())).size());
        }
        QCOMPARE(declared, blobs);
        QCOMPARE(blobs.size(), std::size_t{4});
        QCOMPARE(manifest->timezone, QStringLiteral("Europe/Oslo"));
        QCOMPARE(manifest->devices, std::vector<std::string>{"*"});
        QCOMPARE(manifest->schedule.size(), std::size_t{2});
        QVERIFY(manifest->display.has_value());
        QCOMPARE(manifest->display->onMinute, 7 * 60);
        // Image items without a duration in the source get one; videos do not.
        const auto &lobby = manifest->playlists.at("lobby").items;
        QCOMPARE(lobby.size(), std::size_t{2});
        QCOMPARE(lobby[0].durationMs.value_or(-1), 8000);
        QVERIFY(!lobby[1].durationMs);
        QCOMPARE(manifest->playlists.at("breakfast").items[0].fit, Fit::Cover);
        // Media types come from the file extensions.
        std::multiset<std::string> types;
        for (const auto &[ref, asset] : manifest->assets) types.insert(asset.mediaType);
        QCOMPARE(types, (std::multiset<std::string>{"image/jpeg", "image/jpeg", "image/png", "video/mp4"}));
        const qint64 lifetime = manifest->issuedAt.secsTo(manifest->expiresAt);
        QCOMPARE(lifetime, qint64{30} * 86400);
        QVERIFY(qAbs(manifest->issuedAt.secsTo(QDateTime::currentDateTimeUtc())) < 600);
    }

    void republishBumpsVersionReusesBlobsAndPrunes()
    {
        keygen("re");
        const QString src = makeSource("re-src"), site = path("re-site");
        const QStringList args{"--key", path("re.key"), "--source", src, "--out", site};
        publish(args);
        const QString manifestPath = site + "/v1/manifest.json";
        QCOMPARE(manifestVersion(manifestPath), 1);
        const QString blobDir = site + "/v1/blobs/sha256/";
        std::map<QString, FileStamp> before;
        for (const QString &name : QDir(blobDir).entryList(QDir::Files)) before[name] = stampOf(blobDir + name);
        QCOMPARE(before.size(), std::size_t{4});

        publish(args);
        QCOMPARE(manifestVersion(manifestPath), 2);
        for (const auto &[name, stamp] : before) QCOMPARE(stampOf(blobDir + name), stamp);

        // Changed media -> a new blob; the old one stays for devices still on v2.
        const QByteArray newEggs = fakeMedia("jpg-eggs-v2", 1600);
        writeFile(src + "/eggs.jpg", newEggs);
        publish(args);
        QCOMPARE(manifestVersion(manifestPath), 3);
        const QString newHex = QString::fromLatin1(QCryptographicHash::hash(newEggs, QCryptographicHash::Sha256).toHex());
        QVERIFY(QFileInfo::exists(blobDir + newHex));
        QCOMPARE(QDir(blobDir).entryList(QDir::Files).size(), 5);
        for (const auto &[name, stamp] : before) QCOMPARE(stampOf(blobDir + name), stamp);

        // --prune drops exactly the blob no manifest references any more.
        publish(args + QStringList{"--prune"});
        QCOMPARE(manifestVersion(manifestPath), 4);
        QCOMPARE(QDir(blobDir).entryList(QDir::Files).size(), 4);
        QVERIFY(QFileInfo::exists(blobDir + newHex));

        // --version raises; a lower --version never lowers.
        publish(args + QStringList{"--version", "10"});
        QCOMPARE(manifestVersion(manifestPath), 10);
        publish(args + QStringList{"--version", "5"});
        QCOMPARE(manifestVersion(manifestPath), 11);
    }

    void perDeviceManifestsShareTheVersionCounter()
    {
        keygen("dev");
        const QString src = makeSource("dev-src"), site = path("dev-site");
        publish({"--key", path("dev.key"), "--source", src, "--out", site});
        publish({"--key", path("dev.key"), "--source", src, "--out", site, "--device", "pi-a", "--device", "pi-b"});
        QCOMPARE(manifestVersion(site + "/v1/manifest.json"), 1);
        QCOMPARE(manifestVersion(site + "/v1/devices/pi-a/manifest.json"), 2);
        QCOMPARE(manifestVersion(site + "/v1/devices/pi-b/manifest.json"), 2);

        const StoaRun a = runStoa({"verify", "--trusted-keys", path("dev.pub"), "--device-id", "pi-a", site});
        QCOMPARE(a.exitCode, 0);
        QVERIFY(a.out.contains("devices/pi-a/manifest.json"));
        QVERIFY(a.out.contains("audience: pi-a"));
        const StoaRun other = runStoa({"verify", "--trusted-keys", path("dev.pub"), "--device-id", "pi-c",
                                       site + "/v1/devices/pi-a/manifest.json"});
        QCOMPARE(other.exitCode, 1);
        QVERIFY2(other.err.contains("pi-c"), qPrintable(other.err));

        publish({"--key", path("dev.key"), "--source", src, "--out", site, "--device", "bad id"}, 2);
    }

    void keysDocumentFlow()
    {
        keygen("kd-root");
        keygen("kd-sign");
        keygen("kd-sign2");
        const QString src = makeSource("kd-src"), site = path("kd-site");
        const StoaRun k = runStoa({"keys", "--root-key", path("kd-root.key"), "--add", path("kd-sign.pub"), "--out", site});
        QCOMPARE(k.exitCode, 0);
        publish({"--key", path("kd-sign.key"), "--source", src, "--out", site});

        const QString manifest = site + "/v1/manifest.json", keys = site + "/v1/keys.json";
        const StoaRun withDoc = runStoa({"verify", "--trusted-keys", path("kd-root.pub"), "--keys-doc", keys, manifest});
        QCOMPARE(withDoc.exitCode, 0);
        QVERIFY(withDoc.out.contains("keys document: version 1"));
        const StoaRun withoutDoc = runStoa({"verify", "--trusted-keys", path("kd-root.pub"), manifest});
        QCOMPARE(withoutDoc.exitCode, 1);
        const StoaRun siteDir = runStoa({"verify", "--trusted-keys", path("kd-root.pub"), site});
        QCOMPARE(siteDir.exitCode, 0); // a SITE argument picks up its keys.json like a device

        const StoaRun doc = runStoa({"verify", "--trusted-keys", path("kd-root.pub"), keys});
        QCOMPARE(doc.exitCode, 0);
        QVERIFY(doc.out.contains("valid: keys document"));
        const StoaRun docWrongRoot = runStoa({"verify", "--trusted-keys", path("kd-sign.pub"), keys});
        QCOMPARE(docWrongRoot.exitCode, 1);

        // Rotate: add the new key and revoke the old one; version 2.
        const StoaRun rot = runStoa({"keys", "--root-key", path("kd-root.key"), "--add", path("kd-sign2.pub"),
                                     "--revoke", path("kd-sign.pub"), "--out", site});
        QCOMPARE(rot.exitCode, 0);
        auto env = parseEnvelope(readFile(keys));
        QVERIFY(env);
        const QJsonObject payload = QJsonDocument::fromJson(env->payload).object();
        QCOMPARE(payload["version"].toInt(), 2);
        QCOMPARE(payload["keys"].toArray().size(), 1);
        const StoaRun revoked = runStoa({"verify", "--trusted-keys", path("kd-root.pub"), "--keys-doc", keys, manifest});
        QCOMPARE(revoked.exitCode, 1);
        publish({"--key", path("kd-sign2.key"), "--source", src, "--out", site});
        QCOMPARE(runStoa({"verify", "--trusted-keys", path("kd-root.pub"), site}).exitCode, 0);

        // Revoking the last key is a usage error; nothing is written.
        const QByteArray current = readFile(keys);
        QCOMPARE(runStoa({"keys", "--root-key", path("kd-root.key"), "--revoke", path("kd-sign2.pub"), "--out", site}).exitCode, 2);
        QCOMPARE(readFile(keys), current);
    }

    // v1.1 §11: `stoa keys --manifest-version-floor N` writes the field a
    // device lowers its rollback floor with; verify and inspect show it; it
    // is never carried into the next document; a bad value writes nothing.
    void keysManifestVersionFloor()
    {
        keygen("mf-root");
        keygen("mf-sign");
        keygen("mf-new");
        const QString site = path("mf-site"), keys = site + "/v1/keys.json";
        QCOMPARE(runStoa({"keys", "--root-key", path("mf-root.key"), "--add", path("mf-sign.pub"), "--out", site}).exitCode, 0);
        auto payloadOf = [&] {
            auto env = parseEnvelope(readFile(keys));
            return env ? QJsonDocument::fromJson(env->payload).object() : QJsonObject();
        };
        QVERIFY(!payloadOf().contains("manifest_version_floor"));

        const StoaRun reset = runStoa({"keys", "--root-key", path("mf-root.key"), "--add", path("mf-new.pub"), "--revoke",
                                       path("mf-sign.pub"), "--manifest-version-floor", "41", "--out", site});
        QCOMPARE(reset.exitCode, 0);
        QVERIFY2(reset.out.contains("manifest version floor 41") && reset.out.contains("--version 42"), qPrintable(reset.out));
        QJsonObject payload = payloadOf();
        QCOMPARE(payload["version"].toInt(), 2);
        QCOMPARE(payload["manifest_version_floor"].toInteger(), qint64(41));
        auto doc = parseKeysDocument(parseEnvelope(readFile(keys))->payload); // the device's own parser
        QVERIFY(doc);
        QCOMPARE(doc->manifestVersionFloor.value_or(-1), 41);
        const StoaRun verified = runStoa({"verify", "--trusted-keys", path("mf-root.pub"), keys});
        QCOMPARE(verified.exitCode, 0);
        QVERIFY2(verified.out.contains("manifest version floor: 41"), qPrintable(verified.out));
        QVERIFY(runStoa({"inspect", keys}).out.contains("manifest version floor: 41"));
        const QByteArray withFloor = readFile(keys);

        for (const char *bad : {"-1", "x", "4.5"}) {
            const StoaRun r = runStoa({"keys", "--root-key", path("mf-root.key"), "--manifest-version-floor", bad, "--out", site});
            QCOMPARE(r.exitCode, 2);
            QVERIFY2(r.err.contains("--manifest-version-floor"), qPrintable(r.err));
            QCOMPARE(readFile(keys), withFloor);
        }
        // The next document resets nothing unless asked again.
        QCOMPARE(runStoa({"keys", "--root-key", path("mf-root.key"), "--out", site}).exitCode, 0);
        payload = payloadOf();
        QCOMPARE(payload["version"].toInt(), 3);
        QVERIFY(!payload.contains("manifest_version_floor"));
        QCOMPARE(payload["keys"].toArray().size(), 1);
    }

    void inspectAt_data()
    {
        QTest::addColumn<QString>("at");
        QTest::addColumn<QString>("playing");
        const QDate mon = firstMonday();
        auto local = [&](int dayOffset, const char *time) { return mon.addDays(dayOffset).toString(Qt::ISODate) + 'T' + time; };
        QTest::newRow("mon 07:00 breakfast") << local(0, "07:00") << "breakfast (schedule)";
        QTest::newRow("mon 10:30 boundary") << local(0, "10:30") << "lobby (default)";
        QTest::newRow("fri 06:00") << local(4, "06:00") << "breakfast (schedule)";
        QTest::newRow("sat 07:00 no breakfast") << local(5, "07:00") << "lobby (default)";
        QTest::newRow("sat 12:00 lunch") << local(5, "12:00") << "lunch (schedule)";
        QTest::newRow("sun 05:59") << local(6, "05:59") << "lobby (default)";
        // Oslo is UTC+1 in January: 05:30Z is 06:30 local.
        QTest::newRow("utc form") << mon.toString(Qt::ISODate) + "T05:30:00Z" << "breakfast (schedule)";
    }

    void inspectAt()
    {
        QFETCH(QString, at);
        QFETCH(QString, playing);
        if (m_inspectSite.isEmpty()) {
            keygen("in");
            publish({"--key", path("in.key"), "--source", makeSource("in-src"), "--out", path("in-site")});
            m_inspectSite = path("in-site");
        }
        const QString &site = m_inspectSite;
        const StoaRun r = runStoa({"inspect", site, "--at", at});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("signature: NOT checked"));
        QVERIFY2(r.out.contains("\nplaying: " + playing + "\n"), qPrintable(r.out));
        if (playing.startsWith("breakfast") && at.contains("T07:00"))
            QVERIFY2(r.out.contains(QRegularExpression("until: \\d{4}-\\d\\d-\\d\\d 10:30 Mon Europe/Oslo .*then lobby \\(default\\)")),
                     qPrintable(r.out));
        const StoaRun checked = runStoa({"inspect", site, "--at", at, "--trusted-keys", path("in.pub")});
        QCOMPARE(checked.exitCode, 0);
        QVERIFY(checked.out.contains("signature: checked, valid"));
    }

    void inspectTimeline()
    {
        keygen("tl");
        const QString site = path("tl-site");
        publish({"--key", path("tl.key"), "--source", makeSource("tl-src"), "--out", site});
        const QDate mon = firstMonday();
        const QString from = QDateTime(mon, QTime(0, 0), QTimeZone("Europe/Oslo")).toUTC().toString(Qt::ISODate);
        const StoaRun r = runStoa({"inspect", site, "--from", from, "--days", "7"});
        QCOMPARE(r.exitCode, 0);
        const QString d = mon.toString(Qt::ISODate);
        QVERIFY2(r.out.contains(d + " 00:00 Mon  plays lobby (default); display off"), qPrintable(r.out));
        QVERIFY2(r.out.contains(d + " 06:00 Mon  plays breakfast (schedule)"), qPrintable(r.out));
        QVERIFY2(r.out.contains(d + " 07:00 Mon  display on"), qPrintable(r.out));
        QVERIFY2(r.out.contains(d + " 10:30 Mon  plays lobby (default)"), qPrintable(r.out));
        QVERIFY2(r.out.contains(d + " 22:00 Mon  display off"), qPrintable(r.out));
        // Five breakfasts and two weekend lunches in one week.
        QCOMPARE(r.out.count("plays breakfast"), 5);
        QCOMPARE(r.out.count("plays lunch"), 2);
        QCOMPARE(r.out.count("display on"), 7);
    }

    void badSourceNamesLineAndKey_data()
    {
        QTest::addColumn<QByteArray>("source");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QByteArray head = "timezone = Europe/Oslo\n[playlist lobby]\nwelcome.png 8s\n";
        QTest::newRow("bad duration") << QByteArray("timezone = Europe/Oslo\n\n[playlist a]\nwelcome.png 8x\n") << 1
                                      << "schedule.ini:4: [playlist a]: \"8x\"";
        QTest::newRow("unknown key") << QByteArray("timezone = Europe/Oslo\ncolour = red\n") << 1 << "schedule.ini:2: unknown key \"colour\"";
        QTest::newRow("bad timezone") << QByteArray("timezone = Mars/Olympus\n") << 1 << "schedule.ini:1: timezone = \"Mars/Olympus\"";
        QTest::newRow("no timezone") << QByteArray("[playlist a]\nwelcome.png\n") << 1 << "\"timezone = ...\" is missing";
        QTest::newRow("bad days") << head + "[window w]\nplaylist = lobby\ndays = mon-fry\n" << 1 << "schedule.ini:6: [window w]: days = \"mon-fry\"";
        QTest::newRow("bad time") << head + "[window w]\nplaylist = lobby\ntime = 6-10\n" << 1 << "schedule.ini:6: [window w]: time = \"6-10\"";
        QTest::newRow("undefined playlist") << head + "[window breakfast]\ndays = mon\n" << 1 << "schedule.ini:4: [window breakfast]: playlist \"breakfast\" is not defined";
        QTest::newRow("missing media") << QByteArray("timezone = UTC\n[playlist a]\nnope.png 8s\n") << 3 << "schedule.ini:3: media file \"nope.png\" not found";
        QTest::newRow("unknown media type") << QByteArray("timezone = UTC\n[playlist a]\nnotes.txt 8s\n") << 1 << "schedule.ini:3: \"notes.txt\": unknown media type";
        QTest::newRow("url without duration") << QByteArray("timezone = UTC\n[playlist a]\nhttps://example.com/x\n") << 1 << "schedule.ini:3: [playlist a]: web page";
    }

    void badSourceNamesLineAndKey()
    {
        QFETCH(QByteArray, source);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const QString tag = QString(QTest::currentDataTag()).replace(' ', '-');
        keygen("bad-" + tag);
        const QString src = path("bad-src-" + tag), site = path("bad-site-" + tag);
        writeFile(src + "/schedule.ini", source);
        writeFile(src + "/welcome.png", fakeMedia("png", 100));
        writeFile(src + "/notes.txt", "hello");
        const StoaRun r = runStoa({"publish", "--key", path("bad-" + tag + ".key"), "--source", src, "--out", site});
        QCOMPARE(r.exitCode, exitCode);
        QVERIFY2(r.err.startsWith("stoa: ") && r.err.contains(message), qPrintable(r.err));
        QVERIFY(r.out.isEmpty());
        QVERIFY(!QFileInfo::exists(site + "/v1/manifest.json"));
    }

    void helpAndUsage_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("expect"); // in stdout for 0, stderr otherwise
        for (const char *c : {"keygen", "publish", "keys", "verify", "inspect"}) {
            QTest::addRow("%s --help", c) << QStringList{c, "--help"} << 0 << QString("Usage: stoa %1").arg(c);
            QTest::addRow("%s -h", c) << QStringList{c, "-h"} << 0 << QString("Exit codes:");
        }
        QTest::newRow("--help") << QStringList{"--help"} << 0 << "Commands:";
        QTest::newRow("--version") << QStringList{"--version"} << 0 << "stoa 0.";
        QTest::newRow("no command") << QStringList{} << 2 << "no command given";
        QTest::newRow("unknown command") << QStringList{"frobnicate"} << 2 << "unknown command \"frobnicate\"";
        QTest::newRow("unknown option") << QStringList{"publish", "--frob"} << 2 << "frob";
        QTest::newRow("publish without key") << QStringList{"publish", "--source", "x", "--out", "y"} << 2 << "--key is required";
        QTest::newRow("verify without envelope") << QStringList{"verify", "--trusted-keys", "k"} << 2 << "ENVELOPE";
        QTest::newRow("bad --expires-in") << QStringList{"publish", "--key", "k", "--source", "s", "--out", "o", "--expires-in", "soon"} << 2 << "--expires-in";
        QTest::newRow("missing key file") << QStringList{"publish", "--key", "/nonexistent/k.key", "--source", "s", "--out", "o"} << 3 << "k.key";
        QTest::newRow("missing envelope") << QStringList{"inspect", "/nonexistent/m.json"} << 3 << "m.json";
    }

    void helpAndUsage()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, expect);
        const StoaRun r = runStoa(args);
        QCOMPARE(r.exitCode, exitCode);
        const QString &where = exitCode == 0 ? r.out : r.err;
        QVERIFY2(where.contains(expect), qPrintable(r.out + r.err));
    }

    // Optional interop: the openssl command line verifies stoa's signature
    // over PAE(payloadType, payload), per spec §2.
    void opensslVerifiesPublishedManifest()
    {
        const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
        if (openssl.isEmpty()) QSKIP("openssl not installed");
        keygen("os");
        const QString site = path("os-site");
        publish({"--key", path("os.key"), "--source", makeSource("os-src"), "--out", site});
        const QJsonObject env = QJsonDocument::fromJson(readFile(site + "/v1/manifest.json")).object();
        const QByteArray type = env["payloadType"].toString().toUtf8();
        const QByteArray payload = QByteArray::fromBase64(env["payload"].toString().toLatin1());
        const QByteArray sig = QByteArray::fromBase64(env["signatures"].toArray()[0].toObject()["sig"].toString().toLatin1());
        const QByteArray pae = "DSSEv1 " + QByteArray::number(type.size()) + ' ' + type + ' ' + QByteArray::number(payload.size()) + ' ' + payload;
        writeFile(path("os.pae"), pae);
        writeFile(path("os.sig"), sig);
        auto run = [&](const QString &pub) {
            return stoa::testing::runProgram(openssl, {"pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in",
                                                       path("os.pae"), "-sigfile", path("os.sig")})
                .exitCode;
        };
        QCOMPARE(run(path("os.pub")), 0);
        keygen("os-other");
        QVERIFY(run(path("os-other.pub")) != 0);
    }
};

QTEST_GUILESS_MAIN(TestStoaCommand)
#include "tst_stoa_command.moc"
