// tests/sync/tst_fault_server.cpp — the fault server, seen by a real HTTP client (libcurl).
//
// The sync agent's tests trust this server to misbehave exactly as
// documented, so each behaviour is checked here from the client's side:
// static serving with validators and ranges, configured POST/PUT answers,
// every fault kind, the request log, keep-alive, and that stopping the
// server releases hung and dripping clients.
#include "fault_server.h"
#include "test_files.h"

#include <QTemporaryDir>
#include <QTest>

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <thread>

using namespace stoa::testing;
using namespace std::chrono_literals;

namespace {

struct Reply {
    std::size_t cap = SIZE_MAX;
    CURLcode code = CURLE_OK;
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers; // lowercase names, final response only
    long newConnections = 0;                     // CURLINFO_NUM_CONNECTS
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::size_t>> arrivals; // (when, total)
    // Before the request is sent (fetch makes its Reply first): no byte can
    // arrive earlier, however the client thread is scheduled.
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct Call {
    std::string method = "GET";
    std::vector<std::string> headers;
    std::optional<std::string> body;      // sent with Content-Length
    std::optional<std::string> chunkedBody; // sent with Transfer-Encoding: chunked
    long timeoutMs = 10000;
    long lowSpeedLimit = 0; // bytes/s, with lowSpeedTime seconds
    long lowSpeedTime = 0;
    curl_off_t maxFileSize = 0;
    std::size_t cap = SIZE_MAX; // the write callback refuses more (how a client caps an asset)
    bool pathAsIs = false;
};

size_t onBody(char *data, size_t size, size_t n, void *user)
{
    auto *r = static_cast<Reply *>(user);
    if (r->body.size() + size * n > r->cap)
        return 0;
    r->body.append(data, size * n);
    r->arrivals.emplace_back(std::chrono::steady_clock::now(), r->body.size());
    return size * n;
}

size_t onHeader(char *data, size_t size, size_t n, void *user)
{
    auto *r = static_cast<Reply *>(user);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0)
        r->headers.clear(); // a new response (after 100 Continue)
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        value.erase(value.find_last_not_of("\r\n ") + 1);
        r->headers[name] = value;
    }
    return size * n;
}

struct Upload {
    std::string data;
    std::size_t pos = 0;
};

size_t onRead(char *buffer, size_t size, size_t n, void *user)
{
    auto *u = static_cast<Upload *>(user);
    const std::size_t len = std::min({size * n, u->data.size() - u->pos, std::size_t(1000)});
    std::copy_n(u->data.data() + u->pos, len, buffer);
    u->pos += len;
    return len;
}

// One request on `handle` (reused between calls to show keep-alive), or a fresh one.
Reply fetch(const std::string &url, const Call &call = {}, CURL *handle = nullptr)
{
    CURL *h = handle ? handle : curl_easy_init();
    Reply r;
    r.cap = call.cap;
    Upload upload;
    curl_slist *hdrs = nullptr;
    for (const auto &x : call.headers)
        hdrs = curl_slist_append(hdrs, x.c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, call.timeoutMs);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, call.lowSpeedLimit);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, call.lowSpeedTime);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, call.maxFileSize);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, call.pathAsIs ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (call.body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body->data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(call.body->size()));
    } else if (call.chunkedBody) {
        upload.data = *call.chunkedBody;
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, onRead);
        curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_NOBODY, call.method == "HEAD" ? 1L : 0L); // after HTTPGET, which resets it
    if (call.method != "GET" && call.method != "HEAD")
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    r.code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r.newConnections);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 0L);
    curl_slist_free_all(hdrs);
    if (!handle)
        curl_easy_cleanup(h);
    return r;
}

std::string patterned(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = char((i * 31 + 7) % 251);
    return s;
}

// Whole seconds, as Last-Modified has them. (Outside the test class: moc
// mistakes a local `struct stat` for a nested declaration.)
std::time_t mtimeOf(const std::string &path)
{
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? st.st_mtim.tv_sec : -1;
}

constexpr std::size_t kBlobSize = 64 * 1024;
const std::string kBlobPath = "/v1/blobs/sha256/" + std::string(64, 'a');
const std::string kManifest = R"({"payloadType":"application/vnd.stoa.manifest+json; version=1"})";

} // namespace

class TestFaultServer : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<FaultServer> m_server;
    std::string m_blob = patterned(kBlobSize);

    std::string url(const std::string &path) const { return m_server->baseUrl() + path; }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QCOMPARE(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
        const std::filesystem::path root = m_dir.path().toStdString();
        writeFile(root / "v1/manifest.json", QByteArray::fromStdString(kManifest));
        writeFile(root / kBlobPath.substr(1), QByteArray::fromStdString(m_blob));
        std::filesystem::create_directories(root / "v1/devices");
    }
    void cleanupTestCase() { curl_global_cleanup(); }

    void init()
    {
        m_server = std::make_unique<FaultServer>();
        m_server->setDocumentRoot(m_dir.path().toStdString());
    }
    void cleanup() { m_server.reset(); }

    void servesFileWithValidators()
    {
        QVERIFY(m_server->port() != 0);
        QCOMPARE(m_server->baseUrl(), "http://127.0.0.1:" + std::to_string(m_server->port()));
        const Reply r = fetch(url(kBlobPath));
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.status, 200L);
        QVERIFY(r.body == m_blob);
        QCOMPARE(r.headers.at("content-length"), std::to_string(kBlobSize));
        const std::string etag = r.headers.at("etag");
        QVERIFY(etag.size() > 2 && etag.front() == '"' && etag.back() == '"');
        // Last-Modified is the file's mtime as an IMF-fixdate.
        const auto sys = std::chrono::system_clock::from_time_t(mtimeOf(m_dir.path().toStdString() + kBlobPath));
        QCOMPARE(r.headers.at("last-modified"), FaultServer::httpDate(sys));
        QCOMPARE(curl_getdate(r.headers.at("last-modified").c_str(), nullptr),
                 std::chrono::system_clock::to_time_t(sys));
    }

    void etagFollowsTheFile()
    {
        const std::string path = m_dir.path().toStdString() + "/v1/changing.json";
        writeFile(path, "{\"v\":1}");
        std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - 1h);
        const std::string before = fetch(url("/v1/changing.json")).headers.at("etag");
        writeFile(path, "{\"v\":2}"); // same size: only the mtime tells them apart
        std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now());
        const Reply after = fetch(url("/v1/changing.json"));
        QCOMPARE(after.body, std::string("{\"v\":2}"));
        QVERIFY(after.headers.at("etag") != before);
    }

    void conditional_data()
    {
        QTest::addColumn<QString>("ifNoneMatch"); // $ETAG: the file's current ETag
        QTest::addColumn<QString>("ifModifiedSince"); // $LM: its Last-Modified, $OLD: a day earlier
        QTest::addColumn<long>("status");
        QTest::newRow("etag matches") << "$ETAG" << "" << 304L;
        QTest::newRow("etag in a list") << "\"nope\", $ETAG" << "" << 304L;
        QTest::newRow("weak etag") << "W/$ETAG" << "" << 304L;
        QTest::newRow("star") << "*" << "" << 304L;
        QTest::newRow("other etag") << "\"other\"" << "" << 200L;
        QTest::newRow("since last-modified") << "" << "$LM" << 304L;
        QTest::newRow("since a day earlier") << "" << "$OLD" << 200L;
        QTest::newRow("etag wins over date") << "\"other\"" << "$LM" << 200L;
        QTest::newRow("garbage date") << "" << "yesterday" << 200L;
    }
    void conditional()
    {
        QFETCH(QString, ifNoneMatch);
        QFETCH(QString, ifModifiedSince);
        QFETCH(long, status);
        const Reply plain = fetch(url("/v1/manifest.json"));
        const std::string lm = plain.headers.at("last-modified");
        const time_t lmSecs = curl_getdate(lm.c_str(), nullptr);
        const std::string old = FaultServer::httpDate(std::chrono::system_clock::from_time_t(lmSecs) - 24h);
        ifNoneMatch.replace("$ETAG", QString::fromStdString(plain.headers.at("etag")));
        ifModifiedSince.replace("$LM", QString::fromStdString(lm)).replace("$OLD", QString::fromStdString(old));
        Call call;
        if (!ifNoneMatch.isEmpty())
            call.headers.push_back("If-None-Match: " + ifNoneMatch.toStdString());
        if (!ifModifiedSince.isEmpty())
            call.headers.push_back("If-Modified-Since: " + ifModifiedSince.toStdString());
        const Reply r = fetch(url("/v1/manifest.json"), call);
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.status, status);
        QCOMPARE(r.body, status == 304 ? std::string() : kManifest);
        QCOMPARE(r.headers.at("etag"), plain.headers.at("etag"));
    }

    void range_data()
    {
        QTest::addColumn<QString>("range");
        QTest::addColumn<QString>("ifRange"); // $ETAG: current
        QTest::addColumn<long>("status");
        QTest::addColumn<qint64>("first"); // expected body = blob[first, last]
        QTest::addColumn<qint64>("last");
        const qint64 end = qint64(kBlobSize) - 1;
        QTest::newRow("from 0") << "bytes=0-" << "" << 206L << 0LL << end;
        QTest::newRow("resume") << "bytes=40000-" << "" << 206L << 40000LL << end;
        QTest::newRow("closed") << "bytes=10-19" << "" << 206L << 10LL << 19LL;
        QTest::newRow("last byte") << "bytes=65535-65535" << "" << 206L << end << end;
        QTest::newRow("end clamped") << "bytes=65000-99999" << "" << 206L << 65000LL << end;
        QTest::newRow("suffix") << "bytes=-100" << "" << 206L << end - 99 << end;
        QTest::newRow("at size") << "bytes=65536-" << "" << 416L << -1LL << -1LL;
        QTest::newRow("beyond") << "bytes=70000-70010" << "" << 416L << -1LL << -1LL;
        QTest::newRow("several: whole") << "bytes=0-1,5-6" << "" << 200L << 0LL << end;
        QTest::newRow("invalid: whole") << "bytes=9-3" << "" << 200L << 0LL << end;
        QTest::newRow("if-range fresh") << "bytes=100-" << "$ETAG" << 206L << 100LL << end;
        QTest::newRow("if-range stale") << "bytes=100-" << "\"stale\"" << 200L << 0LL << end;
    }
    void range()
    {
        QFETCH(QString, range);
        QFETCH(QString, ifRange);
        QFETCH(long, status);
        QFETCH(qint64, first);
        QFETCH(qint64, last);
        Call call;
        call.headers.push_back("Range: " + range.toStdString());
        if (!ifRange.isEmpty()) {
            const std::string etag = fetch(url(kBlobPath)).headers.at("etag");
            call.headers.push_back("If-Range: " + ifRange.replace("$ETAG", QString::fromStdString(etag)).toStdString());
        }
        const Reply r = fetch(url(kBlobPath), call);
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.status, status);
        if (status == 416) {
            QCOMPARE(r.headers.at("content-range"), "bytes */" + std::to_string(kBlobSize));
            return;
        }
        QVERIFY(r.body == m_blob.substr(std::size_t(first), std::size_t(last - first + 1)));
        if (status == 206)
            QCOMPARE(r.headers.at("content-range"), "bytes " + std::to_string(first) + "-" + std::to_string(last) +
                                                        "/" + std::to_string(kBlobSize));
        else
            QVERIFY(!r.headers.contains("content-range"));
    }

    void headSendsHeadersOnly()
    {
        Call call;
        call.method = "HEAD";
        const Reply r = fetch(url(kBlobPath), call);
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.status, 200L);
        QVERIFY(r.body.empty());
        QCOMPARE(r.headers.at("content-length"), std::to_string(kBlobSize));
        QCOMPARE(m_server->requests().back().method, std::string("HEAD"));
    }

    void notFound_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("missing") << "/v1/nope.json";
        QTest::newRow("directory") << "/v1/devices";
        QTest::newRow("traversal") << "/../../etc/passwd";
        QTest::newRow("encoded traversal") << "/v1/%2e%2e/%2e%2e/%2e%2e/etc/passwd";
    }
    void notFound()
    {
        QFETCH(QString, path);
        Call call;
        call.pathAsIs = true;
        const Reply r = fetch(url(path.toStdString()), call);
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.status, 404L);
    }

    void noDocumentRootIs404()
    {
        FaultServer bare;
        QCOMPARE(fetch(bare.baseUrl() + "/v1/manifest.json").status, 404L);
    }

    void postAndPut()
    {
        const std::string status = "/v1/devices/pi-01/status";
        const std::string heartbeat = R"({"device_id":"pi-01"})";
        Call post;
        post.method = "POST";
        post.body = heartbeat;
        post.headers = {"Content-Type: application/json"};
        QCOMPARE(fetch(url(status), post).status, 404L); // like a static server
        m_server->setResponse("POST", status, 204);
        const Reply ok = fetch(url(status), post);
        QCOMPARE(ok.code, CURLE_OK);
        QCOMPARE(ok.status, 204L);
        QCOMPARE(fetch(url(status)).status, 404L); // GET is not configured

        // Binary PUT (NULs included), large enough for Expect: 100-continue.
        const std::string jpeg = "\xff\xd8\xff\xe0" + std::string(1, '\0') + patterned(300000);
        m_server->setResponse("PUT", "/v1/devices/pi-01/screenshot", 201, "stored\n");
        Call put;
        put.method = "PUT";
        put.body = jpeg;
        const Reply stored = fetch(url("/v1/devices/pi-01/screenshot"), put);
        QCOMPARE(stored.status, 201L);
        QCOMPARE(stored.body, std::string("stored\n"));

        // NDJSON sent chunked.
        std::string ndjson;
        for (int i = 0; i < 50; ++i)
            ndjson += "{\"id\":\"p-" + std::to_string(i) + "\",\"completed\":true}\n";
        Call chunked;
        chunked.method = "POST";
        chunked.chunkedBody = ndjson;
        m_server->setResponse("POST", "/v1/devices/pi-01/plays", 200);
        QCOMPARE(fetch(url("/v1/devices/pi-01/plays"), chunked).status, 200L);

        const auto log = m_server->requests();
        QCOMPARE(log.size(), std::size_t(5));
        QCOMPARE(log[0].body, heartbeat);
        QCOMPARE(log[0].status, 404);
        QCOMPARE(log[1].status, 204);
        QCOMPARE(log[1].header("content-type"), std::string("application/json"));
        QCOMPARE(log[3].method, std::string("PUT"));
        QVERIFY(log[3].body == jpeg);
        QCOMPARE(log[4].header("transfer-encoding"), std::string("chunked"));
        QCOMPARE(log[4].body, ndjson);
    }

    void statusFaults_data()
    {
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("retryAfter"); // empty: none; "date": 2 minutes ahead
        QTest::newRow("500") << 500 << "";
        QTest::newRow("404") << 404 << "";
        QTest::newRow("503 seconds") << 503 << "120";
        QTest::newRow("503 date") << 503 << "date";
        QTest::newRow("429 seconds") << 429 << "30";
    }
    void statusFaults()
    {
        QFETCH(int, code);
        QFETCH(QString, retryAfter);
        std::string value = retryAfter.toStdString();
        if (value == "date")
            value = FaultServer::httpDate(std::chrono::system_clock::now() + 2min);
        m_server->addFault(value.empty() ? Fault::statusCode(code) : Fault::retryAfter(code, value));
        const Reply r = fetch(url("/v1/manifest.json"));
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.status, long(code));
        QVERIFY(r.body != kManifest);
        QCOMPARE(r.headers.contains("retry-after"), !value.empty());
        if (!value.empty())
            QCOMPARE(r.headers.at("retry-after"), value);
        QCOMPARE(m_server->requests().back().status, code);
        QCOMPARE(m_server->requests().back().fault, std::optional(FaultKind::Status));
    }

    void faultUsesRunOut()
    {
        const int id = m_server->addFault(Fault::statusCode(503).onPath("/v1/manifest.json").times(2));
        QCOMPARE(m_server->usesLeft(id), 2);
        QCOMPARE(fetch(url("/v1/manifest.json")).status, 503L);
        QCOMPARE(m_server->usesLeft(id), 1);
        QCOMPARE(fetch(url("/v1/manifest.json")).status, 503L);
        QCOMPARE(m_server->usesLeft(id), 0);
        QCOMPARE(fetch(url("/v1/manifest.json")).status, 200L);
        QVERIFY(!m_server->requests().back().fault);
    }

    void faultMatching()
    {
        m_server->addFault(Fault::statusCode(500).onPrefix("/v1/blobs/"));
        m_server->addFault(Fault::statusCode(429).onPath("/v1/manifest.json").onMethod("POST"));
        const int exact = m_server->addFault(Fault::statusCode(503).onPath("/v1/manifest.json"));
        m_server->addFault(Fault::statusCode(404).onPath("/v1/manifest.json")); // shadowed by the one above
        QCOMPARE(fetch(url(kBlobPath)).status, 500L);
        QCOMPARE(fetch(url("/v1/manifest.json")).status, 503L);
        QCOMPARE(fetch(url("/v1/manifest.json?x=1")).status, 503L); // the query is not part of the path
        QCOMPARE(fetch(url("/v1/manifest.jsonx")).status, 404L);   // exact means exact (and no such file)
        Call post;
        post.method = "POST";
        post.body = "{}";
        QCOMPARE(fetch(url("/v1/manifest.json"), post).status, 429L);
        m_server->removeFault(exact);
        QCOMPARE(fetch(url("/v1/manifest.json")).status, 404L);
        m_server->clearFaults();
        QCOMPARE(fetch(url("/v1/manifest.json")).status, 200L);
        QCOMPARE(fetch(url(kBlobPath)).status, 200L);
    }

    void resetMidBody()
    {
        m_server->addFault(Fault::reset(1000).onPrefix("/v1/blobs/"));
        const Reply r = fetch(url(kBlobPath));
        QVERIFY2(r.code == CURLE_RECV_ERROR || r.code == CURLE_PARTIAL_FILE, curl_easy_strerror(r.code));
        QCOMPARE(r.status, 200L);
        QCOMPARE(r.body.size(), std::size_t(1000));
        QVERIFY(r.body == m_blob.substr(0, 1000));
    }

    void truncatedBody()
    {
        m_server->addFault(Fault::truncate(5000));
        const Reply r = fetch(url(kBlobPath));
        QCOMPARE(r.code, CURLE_PARTIAL_FILE);
        QCOMPARE(r.headers.at("content-length"), std::to_string(kBlobSize));
        QVERIFY(r.body == m_blob.substr(0, 5000));
    }

    void overlongBody_data()
    {
        QTest::addColumn<int>("framing");
        QTest::newRow("declared") << int(Framing::DeclaredLength);
        QTest::newRow("close-delimited") << int(Framing::CloseDelimited);
        QTest::newRow("chunked") << int(Framing::Chunked);
    }
    void overlongBody()
    {
        QFETCH(int, framing);
        m_server->addFault(Fault::overlong(4096, Framing(framing)));
        const Reply r = fetch(url(kBlobPath));
        QCOMPARE(r.code, CURLE_OK); // HTTP itself is fine: only the client's size check can tell
        QCOMPARE(r.body.size(), kBlobSize + 4096);
        QVERIFY(r.body.starts_with(m_blob));
        QCOMPARE(r.headers.contains("content-length"), Framing(framing) == Framing::DeclaredLength);
        QCOMPARE(r.headers.contains("transfer-encoding"), Framing(framing) == Framing::Chunked);
        // A client that counts the bytes against the asset's size notices,
        // whatever the framing (libcurl 7.88's CURLOPT_MAXFILESIZE only
        // judges a declared Content-Length, so it is not enough alone).
        Call capped;
        capped.cap = kBlobSize;
        QCOMPARE(fetch(url(kBlobPath), capped).code, CURLE_WRITE_ERROR);
        if (Framing(framing) == Framing::DeclaredLength) {
            Call declared;
            declared.maxFileSize = curl_off_t(kBlobSize);
            QCOMPARE(fetch(url(kBlobPath), declared).code, CURLE_FILESIZE_EXCEEDED);
        }
    }

    void flippedBytes()
    {
        m_server->addFault(Fault::flipBytes(30000, 3));
        const Reply r = fetch(url(kBlobPath));
        QCOMPARE(r.code, CURLE_OK);
        QCOMPARE(r.body.size(), kBlobSize);
        std::vector<std::size_t> diffs;
        for (std::size_t i = 0; i < kBlobSize; ++i)
            if (r.body[i] != m_blob[i])
                diffs.push_back(i);
        QCOMPARE(diffs, (std::vector<std::size_t>{30000, 30001, 30002}));
    }

    void captivePortal()
    {
        m_server->addFault(Fault::captivePortal());
        for (const std::string &path : {std::string("/v1/manifest.json"), kBlobPath, std::string("/v1/keys.json")}) {
            const Reply r = fetch(url(path));
            QCOMPARE(r.code, CURLE_OK);
            QCOMPARE(r.status, 200L);
            QVERIFY(r.headers.at("content-type").starts_with("text/html"));
            QVERIFY(r.body.find("<html>") != std::string::npos);
        }
    }

    void replacedBody()
    {
        const std::string envelope = R"({"payloadType":"application/vnd.stoa.manifest+json; version=1","payload":"e30=","signatures":[]})";
        m_server->addFault(Fault::replaceBody(envelope).onPath("/v1/manifest.json").times(1));
        const Reply r = fetch(url("/v1/manifest.json"));
        QCOMPARE(r.status, 200L);
        QCOMPARE(r.body, envelope);
        QCOMPARE(r.headers.at("content-type"), std::string("application/json"));
        QCOMPARE(fetch(url("/v1/manifest.json")).body, kManifest);
    }

    void dripIsDetectableByLowSpeedLimit()
    {
        m_server->addFault(Fault::drip()); // one byte a second, the whole body
        Call call;
        call.lowSpeedLimit = 100; // bytes/s ...
        call.lowSpeedTime = 1;    // ... for a second: abort
        const Reply r = fetch(url(kBlobPath), call);
        QCOMPARE(r.code, CURLE_OPERATION_TIMEDOUT);
        QVERIFY(r.body.size() < 10);
        QVERIFY(r.body == m_blob.substr(0, r.body.size()));
    }

    void dripThenFullSpeed()
    {
        const auto interval = 30ms;
        m_server->addFault(Fault::drip(interval, 5));
        const Reply r = fetch(url(kBlobPath));
        QCOMPARE(r.code, CURLE_OK);
        QVERIFY(r.body == m_blob);
        // The first bytes came one at a time; the fifth may arrive together
        // with the rest, which follows at once. The server waits `interval`
        // before each of bytes 2-5, so the fifth cannot arrive sooner than 4
        // intervals after the request. (Measured from the request, not from
        // the first byte's callback: a client thread descheduled between its
        // recv and the callback stamps the first byte late; seen under -j2
        // with builds running: 4 intervals between stamps came out shorter.)
        QVERIFY(r.arrivals.size() >= 5);
        for (std::size_t i = 0; i < 4; ++i)
            QCOMPARE(r.arrivals[i].second, i + 1);
        QVERIFY(r.arrivals[4].second >= 5);
        QVERIFY(r.arrivals[4].first - r.started >= 4 * interval);
    }

    void hangHoldsOnlyItsConnection()
    {
        m_server->addFault(Fault::hang().onPath("/v1/manifest.json"));
        Call quick;
        quick.timeoutMs = 300;
        QCOMPARE(fetch(url("/v1/manifest.json"), quick).code, CURLE_OPERATION_TIMEDOUT);

        // A hung request does not stop others from being served meanwhile.
        Reply hung;
        std::thread t([&] {
            Call patient;
            patient.timeoutMs = 60000;
            hung = fetch(url("/v1/manifest.json"), patient);
        });
        QVERIFY(m_server->waitForRequests("/v1/manifest.json", 2, 10s));
        QCOMPARE(fetch(url(kBlobPath)).status, 200L);
        // Stopping the server releases the hung client at once.
        m_server.reset();
        t.join();
        QCOMPARE(hung.code, CURLE_GOT_NOTHING);
    }

    void stopReleasesDrip()
    {
        m_server->addFault(Fault::drip(10s));
        Reply dripped;
        std::thread t([&] {
            Call patient;
            patient.timeoutMs = 60000;
            dripped = fetch(url(kBlobPath), patient);
        });
        QVERIFY(m_server->waitForRequests(kBlobPath, 1, 10s));
        m_server.reset();
        t.join();
        QCOMPARE(dripped.code, CURLE_PARTIAL_FILE);
        QVERIFY(dripped.body.size() < 10);
    }

    void requestLog()
    {
        Call call;
        call.headers = {"User-Agent: stoa/0.3.0 (pi-01)", "Authorization: Bearer s3cret", "X-Twice: a", "X-Twice: b"};
        m_server->addFault(Fault::statusCode(503).onPath("/v1/devices/pi-01/manifest.json").times(1));
        const auto before = std::chrono::steady_clock::now();
        fetch(url("/v1/devices/pi-01/manifest.json?since=41"), call);
        fetch(url("/v1/manifest.json"), call);
        const auto after = std::chrono::steady_clock::now();

        const auto log = m_server->requests();
        QCOMPARE(log.size(), std::size_t(2));
        QCOMPARE(log[0].method, std::string("GET"));
        QCOMPARE(log[0].target, std::string("/v1/devices/pi-01/manifest.json?since=41"));
        QCOMPARE(log[0].path, std::string("/v1/devices/pi-01/manifest.json"));
        QCOMPARE(log[0].header("user-agent"), std::string("stoa/0.3.0 (pi-01)"));
        QCOMPARE(log[0].header("authorization"), std::string("Bearer s3cret"));
        QCOMPARE(log[0].header("x-twice"), std::string("a, b"));
        QCOMPARE(log[0].status, 503);
        QCOMPARE(log[1].status, 200);
        QVERIFY(before <= log[0].arrived && log[0].arrived <= log[1].arrived && log[1].arrived <= after);
        QCOMPARE(m_server->requestsTo("/v1/manifest.json").size(), std::size_t(1));

        m_server->clearLog();
        QVERIFY(m_server->requests().empty());
        // waitFor: false at the deadline, true as soon as a request from another thread lands.
        QVERIFY(!m_server->waitForRequests("/v1/manifest.json", 1, 50ms));
        std::thread t([&] { fetch(url("/v1/manifest.json")); });
        const bool seen = m_server->waitFor(
            [](const std::vector<RecordedRequest> &l) { return !l.empty() && l.back().status == 200; }, 10s);
        t.join();
        QVERIFY(seen);
    }

    void keepAlive()
    {
        CURL *h = curl_easy_init();
        const Reply first = fetch(url("/v1/manifest.json"), {}, h);
        m_server->addFault(Fault::statusCode(503).times(1));
        const Reply second = fetch(url("/v1/manifest.json"), {}, h);
        const Reply third = fetch(url(kBlobPath), {}, h);
        m_server->addFault(Fault::truncate(10).times(1));
        fetch(url(kBlobPath), {}, h);
        const Reply fifth = fetch(url(kBlobPath), {}, h);
        curl_easy_cleanup(h);
        QCOMPARE(first.newConnections, 1L);
        QCOMPARE(second.status, 503L);
        QCOMPARE(second.newConnections, 0L); // an error status keeps the connection
        QCOMPARE(third.newConnections, 0L);
        QCOMPARE(fifth.newConnections, 1L); // a truncated body does not
        QCOMPARE(fifth.status, 200L);
        const auto log = m_server->requests();
        QCOMPARE(log.size(), std::size_t(5));
        QCOMPARE(log[0].connection, log[2].connection);
        QVERIFY(log[4].connection != log[3].connection);
    }
};

QTEST_GUILESS_MAIN(TestFaultServer)
#include "tst_fault_server.moc"
