// Resumable uploads (docs/hub-api.md, "Uploads") over real HTTP, against the
// backend STOA_HUB_TEST_BACKEND names: a chunk cut off mid-body is resumed
// from the offset the hub reports and the medium lands with the file's
// SHA-256; refusals are clear 4xx and register nothing; unfinished uploads
// are bounded and expire. Also: a preview and a week view use the digests
// stored at upload, never re-reading the media (/proc/self/io counts the
// bytes this process — the hub included — reads).
#include "hub_harness.h"

#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace stoa;
using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

constexpr std::size_t kChunk = 1 << 20;

QJsonObject object(const HttpResult &r) { return QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object(); }

std::string bytes(std::size_t n, quint32 seed)
{
    std::string out(n, '\0');
    QRandomGenerator g(seed);
    for (auto &c : out)
        c = static_cast<char>(g.generate() & 0xff);
    return out;
}

std::string sha256(const std::string &s)
{
    return QCryptographicHash::hash(QByteArrayView(s.data(), static_cast<qsizetype>(s.size())), QCryptographicHash::Sha256)
        .toHex()
        .toStdString();
}

std::string json(const QJsonObject &o) { return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString(); }

// Bytes this process has read through read()/pread() so far (the hub runs
// in it): Linux's rchar.
qint64 bytesRead()
{
    QFile f("/proc/self/io");
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read /proc/self/io");
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("rchar:"))
            return line.mid(6).trimmed().toLongLong();
    qFatal("no rchar in /proc/self/io");
}

// A PUT whose connection closes after `sent` of its `total` body bytes.
void cutChunk(quint16 port, const std::string &path, const std::string &token, const std::string &body, std::size_t sent)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        qFatal("connect failed");
    const std::string head = "PUT " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
                             + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(body.size())
                             + "\r\n\r\n";
    const std::string out = head + body.substr(0, sent);
    for (std::size_t done = 0; done < out.size();) {
        const ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

} // namespace

class UploadsTest : public QObject {
    Q_OBJECT
    Backends backends;
    std::unique_ptr<HubHarness> h;
    std::string editor, other;

    void startHub(UploadLimits limits = {})
    {
        HubOptions options;
        limits.chunkBytes = kChunk;
        options.uploads = limits;
        h = std::make_unique<HubHarness>();
        const auto e = h->start(backends, options);
        QVERIFY2(e.empty(), e.c_str());
        editor = h->add(TokenKind::Operator, "eve", Role::Editor);
        other = h->add(TokenKind::Operator, "otto", Role::Editor);
    }

    // A new upload's id, or "" (the test fails).
    std::string create(HttpClient &c, const std::string &name, std::size_t size)
    {
        const auto r = c.post("/api/v1/uploads", json({{"name", QString::fromStdString(name)}, {"size", qint64(size)}}));
        if (r.status != 201) {
            qWarning("create %s: %ld %s", name.c_str(), r.status, r.body.c_str());
            return {};
        }
        return object(r).value("id").toString().toStdString();
    }

    // Sends `data` from the offset the hub holds, chunk by chunk.
    bool sendRest(HttpClient &c, const std::string &id, const std::string &data)
    {
        const auto state = c.get("/api/v1/uploads/" + id);
        auto offset = static_cast<std::size_t>(object(state).value("offset").toInteger());
        while (offset < data.size()) {
            const auto r = c.put("/api/v1/uploads/" + id + "?offset=" + std::to_string(offset), data.substr(offset, kChunk),
                                 "application/octet-stream");
            if (r.status != 200) {
                qWarning("chunk at %zu: %ld %s", offset, r.status, r.body.c_str());
                return false;
            }
            offset = static_cast<std::size_t>(object(r).value("offset").toInteger());
        }
        return true;
    }

    QStringList partials() const
    {
        return QDir(h->dir.path() + "/uploads").entryList(QDir::Files | QDir::NoDotAndDotDot);
    }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str());
    }
    void init() { startHub(); }
    void cleanup() { h.reset(); }

    void resumesAfterAConnectionCutMidBody()
    {
        auto ed = h->client(editor);
        const std::string data = bytes(3 * kChunk + 12345, 7);
        const std::string id = create(*ed, "clip.mp4", data.size());
        QVERIFY(!id.empty());
        const auto first = ed->put("/api/v1/uploads/" + id + "?offset=0", data.substr(0, kChunk), "application/octet-stream");
        QCOMPARE(first.status, 200L);
        QCOMPARE(object(first).value("offset").toInteger(), qint64(kChunk));
        // The second chunk's connection closes after 300 KB of its body.
        cutChunk(h->hub->port(), "/api/v1/uploads/" + id + "?offset=" + std::to_string(kChunk), editor,
                 data.substr(kChunk, kChunk), 300 * 1000);
        const auto state = ed->get("/api/v1/uploads/" + id);
        QCOMPARE(state.status, 200L);
        QCOMPARE(object(state).value("offset").toInteger(), qint64(kChunk)); // the cut chunk is not half-kept
        QCOMPARE(object(state).value("size").toInteger(), qint64(data.size()));
        QVERIFY(sendRest(*ed, id, data));
        const auto done = ed->post("/api/v1/uploads/" + id + "/complete", json({{"sha256", QString::fromStdString(sha256(data))}}));
        QVERIFY2(done.status == 200, done.body.c_str());
        QCOMPARE(object(done).value("sha256").toString().toStdString(), sha256(data));
        QCOMPARE(object(done).value("bytes").toInteger(), qint64(data.size()));
        // In the library, byte for byte; the partial is gone; audited.
        const auto media = QJsonDocument::fromJson(QByteArray::fromStdString(ed->get("/api/v1/media").body)).array();
        QCOMPARE(media.size(), 1);
        QCOMPARE(media[0].toObject().value("sha256").toString().toStdString(), sha256(data));
        QCOMPARE(media[0].toObject().value("kind").toString(), QString("video"));
        QCOMPARE(ed->get("/api/v1/media/clip.mp4").body == data, true);
        QCOMPARE(partials(), QStringList());
        QCOMPARE(ed->get("/api/v1/uploads/" + id).status, 404L);
        const auto audit = object(ed->get("/api/v1/audit")).value("entries").toArray();
        QVERIFY(!audit.isEmpty());
        QCOMPARE(audit[0].toObject().value("action").toString(), QString("media.upload"));
        QCOMPARE(audit[0].toObject().value("target").toString(), QString("clip.mp4"));
        // Without a declared digest it is still hashed and registered.
        const std::string small = bytes(5000, 9);
        const std::string id2 = create(*ed, "b.png", small.size());
        QVERIFY(sendRest(*ed, id2, small));
        const auto done2 = ed->post("/api/v1/uploads/" + id2 + "/complete", "{}");
        QCOMPARE(done2.status, 200L);
        QCOMPARE(object(done2).value("sha256").toString().toStdString(), sha256(small));
    }

    void refusalsAreClearAndRegisterNothing()
    {
        auto ed = h->client(editor);
        const std::string data = bytes(2 * kChunk, 3);
        const std::string id = create(*ed, "a.webm", data.size());
        QVERIFY(!id.empty());
        const std::string at = "/api/v1/uploads/" + id;
        // Wrong offset: 409 with the offset to send from.
        auto r = ed->put(at + "?offset=5", data.substr(5, 100), "application/octet-stream");
        QCOMPARE(r.status, 409L);
        QCOMPARE(object(r).value("offset").toInteger(), qint64(0));
        QCOMPARE(ed->put(at, data.substr(0, 100), "application/octet-stream").status, 400L); // no offset
        // Wrong tokens: none known, a viewer, another editor (not theirs).
        auto stranger = h->client("stoa_op_" + std::string(43, 'A'));
        QCOMPARE(stranger->put(at + "?offset=0", data.substr(0, 100), "application/octet-stream").status, 401L);
        QCOMPARE(h->client(h->viewer)->put(at + "?offset=0", data.substr(0, 100), "application/octet-stream").status, 403L);
        QCOMPARE(h->client(h->viewer)->post("/api/v1/uploads", json({{"name", "x.png"}, {"size", 10}})).status, 403L);
        QCOMPARE(h->client(other)->put(at + "?offset=0", data.substr(0, 100), "application/octet-stream").status, 404L);
        QCOMPARE(h->client(other)->get(at).status, 404L);
        QCOMPARE(h->client(other)->post(at + "/complete", "{}").status, 404L);
        // Oversize: declared over the limit (413), a chunk over the chunk cap (413).
        r = ed->post("/api/v1/uploads", json({{"name", "huge.mp4"}, {"size", qint64(UploadLimits{}.maxBytes + 1)}}));
        QCOMPARE(r.status, 413L);
        QCOMPARE(ed->put(at + "?offset=0", std::string(kChunk + 1, 'x'), "application/octet-stream").status, 413L);
        // Bad declarations.
        QCOMPARE(ed->post("/api/v1/uploads", json({{"name", "notes.txt"}, {"size", 10}})).status, 400L);
        QCOMPARE(ed->post("/api/v1/uploads", json({{"name", ".x.png"}, {"size", 10}})).status, 400L);
        QCOMPARE(ed->post("/api/v1/uploads", json({{"name", "x.png"}, {"size", 0}})).status, 400L);
        QCOMPARE(ed->post("/api/v1/uploads", json({{"name", "x.png"}, {"size", 1.5}})).status, 400L);
        // A chunk past the declared size.
        const std::string tiny = create(*ed, "t.png", 10);
        r = ed->put("/api/v1/uploads/" + tiny + "?offset=0", std::string(11, 'y'), "application/octet-stream");
        QCOMPARE(r.status, 400L);
        QVERIFY2(object(r).value("error").toString().contains("past the upload's declared size"), r.body.c_str());
        QCOMPARE(object(ed->get("/api/v1/uploads/" + tiny)).value("offset").toInteger(), qint64(0));
        // Completing early: 409 with the offset; a wrong digest: 400, discarded.
        QCOMPARE(ed->put(at + "?offset=0", data.substr(0, kChunk), "application/octet-stream").status, 200L);
        r = ed->post(at + "/complete", "{}");
        QCOMPARE(r.status, 409L);
        QCOMPARE(object(r).value("offset").toInteger(), qint64(kChunk));
        QVERIFY(sendRest(*ed, id, data));
        QCOMPARE(ed->post(at + "/complete", json({{"sha256", "ABC"}})).status, 400L);
        r = ed->post(at + "/complete", json({{"sha256", QString(64, '0')}}));
        QCOMPARE(r.status, 400L);
        QVERIFY2(object(r).value("error").toString().contains("differ"), r.body.c_str());
        QCOMPARE(ed->get(at).status, 404L);
        // Nothing registered; cancelling the last one leaves no partial.
        QCOMPARE(ed->get("/api/v1/media").body, std::string("[]\n"));
        QCOMPARE(ed->request("DELETE", "/api/v1/uploads/" + tiny, "", {}).status, 204L);
        QCOMPARE(partials(), QStringList());
        QCOMPARE(ed->request("GET", "/api/v1/uploads/" + std::string(31, 'a'), "", {}).status, 404L);
    }

    void unfinishedUploadsAreBoundedAndExpire()
    {
        UploadLimits limits;
        limits.quotaBytes = 3 * kChunk;
        limits.idleMs = 400;
        startHub(limits);
        auto ed = h->client(editor);
        const std::string a = create(*ed, "a.mp4", 2 * kChunk);
        QVERIFY(!a.empty());
        QCOMPARE(ed->put("/api/v1/uploads/" + a + "?offset=0", std::string(1000, 'a'), "application/octet-stream").status, 200L);
        // A second 2 MiB upload would reserve 4 MiB of 3.
        const auto full = ed->post("/api/v1/uploads", json({{"name", "b.mp4"}, {"size", qint64(2 * kChunk)}}));
        QCOMPARE(full.status, 507L);
        QVERIFY2(object(full).value("error").toString().contains("unfinished uploads"), full.body.c_str());
        // Once `a` has had no chunk for idleMs it goes (swept by the next upload).
        const auto touched = QFileInfo(h->dir.path() + "/uploads/" + QString::fromStdString(a) + ".part").lastModified();
        QDeadlineTimer deadline(10000);
        while (touched.msecsTo(QDateTime::currentDateTime()) <= limits.idleMs + 50 && !deadline.hasExpired())
            QTest::qWait(20);
        const std::string b = create(*ed, "b.mp4", 2 * kChunk);
        QVERIFY(!b.empty());
        QCOMPARE(ed->get("/api/v1/uploads/" + a).status, 404L);
        QCOMPARE(partials(), (QStringList{QString::fromStdString(b) + ".json", QString::fromStdString(b) + ".part"}));
    }

    void previewAndWeekUseTheStoredDigests()
    {
        // A 48 MiB video: hashing it again would read 48 MiB.
        const std::size_t size = 48 * kChunk;
        const std::string data = bytes(size, 11);
        auto ed = h->client(editor);
        const std::string id = create(*ed, "big.mp4", size);
        QVERIFY(sendRest(*ed, id, data));
        QCOMPARE(ed->post("/api/v1/uploads/" + id + "/complete", "{}").status, 200L);
        const std::string fleet = "timezone = UTC\ndefault = main\n\n[playlist main]\nbig.mp4\n";
        auto r = ed->put("/api/v1/schedules/fleet", fleet, "text/plain");
        QVERIFY2(r.status == 200, r.body.c_str());

        const qint64 before = bytesRead();
        r = ed->post("/api/v1/schedules/fleet/preview", fleet + "\n[window late]\nplaylist = main\ntime = 20:00-22:00\n", "text/plain");
        QVERIFY2(r.status == 200, r.body.c_str());
        r = ed->get("/api/v1/schedules/fleet/week");
        QVERIFY2(r.status == 200, r.body.c_str());
        r = ed->get("/api/v1/media");
        QCOMPARE(QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).array()[0].toObject().value("sha256").toString().toStdString(),
                 sha256(data));
        const qint64 read = bytesRead() - before;
        qInfo("preview + week view + media list read %lld bytes (the video: %zu)", read, size);
        QVERIFY2(read < qint64(size / 8), qPrintable(QString("read %1 bytes").arg(read)));
        // A republication (a command: every manifest at a new version)
        // reads no medium whose blob the site already has.
        const qint64 beforeCommand = bytesRead();
        r = ed->post("/api/v1/devices/pi-1/commands", R"({"type": "screenshot"})");
        QVERIFY2(r.status == 202, r.body.c_str());
        const qint64 readByCommand = bytesRead() - beforeCommand;
        qInfo("a republication read %lld bytes (the video: %zu)", readByCommand, size);
        QVERIFY2(readByCommand < qint64(size / 8), qPrintable(QString("read %1 bytes").arg(readByCommand)));

        // A file changed behind the hub's back is hashed again, not trusted.
        QFile f(h->dir.path() + "/library/big.mp4");
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.seek(0);
        f.write("X");
        f.close();
        std::string changed = data;
        changed[0] = 'X';
        r = ed->get("/api/v1/media");
        QCOMPARE(QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).array()[0].toObject().value("sha256").toString().toStdString(),
                 sha256(changed));
    }
};

QTEST_GUILESS_MAIN(UploadsTest)
#include "tst_uploads.moc"
