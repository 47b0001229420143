// tests/endpoints/tst_http.cpp — request-head parsing and response
// serialisation, byte for byte, without sockets.
#include "endpoints/http.h"

#include <QTest>

using namespace stoa::endpoints;
using State = http::ParseResult::State;

Q_DECLARE_METATYPE(State)

class TestHttp : public QObject {
    Q_OBJECT

private slots:
    void parseHead_data();
    void parseHead();
    void requestParts_data();
    void requestParts();
    void everyPrefixOfAGoodRequestNeedsMore();
    void serialize();
};

void TestHttp::parseHead_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<State>("state");
    QTest::addColumn<int>("status");

    const QByteArray big(9000, 'a');
    QTest::newRow("GET") << QByteArray("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") << State::Complete << 0;
    QTest::newRow("HTTP/1.0, no headers") << QByteArray("GET / HTTP/1.0\r\n\r\n") << State::Complete << 0;
    QTest::newRow("bare LF") << QByteArray("GET / HTTP/1.1\nHost: x\n\n") << State::Complete << 0;
    QTest::newRow("POST parses (405 is the server's)")
        << QByteArray("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n") << State::Complete << 0;
    QTest::newRow("partial line") << QByteArray("GET /met") << State::NeedMore << 0;
    QTest::newRow("partial head") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n") << State::NeedMore << 0;
    QTest::newRow("empty") << QByteArray() << State::NeedMore << 0;

    QTest::newRow("binary garbage, no newline") << QByteArray("\x16\x03\x01\x02\x00", 5) << State::Reject << 400;
    QTest::newRow("TLS hello") << QByteArray("\x16\x03\x01\x00\xa5\x01\x00\x00", 8) << State::Reject << 400;
    QTest::newRow("NUL in line") << QByteArray("GET /\0 HTTP/1.1\r\n\r\n", 19) << State::Reject << 400;
    QTest::newRow("bad method char early") << QByteArray("GE(T") << State::Reject << 400;
    QTest::newRow("words") << QByteArray("hello world\r\n\r\n") << State::Reject << 400;
    QTest::newRow("three words, not a path") << QByteArray("GET metrics HTTP/1.1\r\n\r\n") << State::Reject << 400;
    QTest::newRow("extra space") << QByteArray("GET  / HTTP/1.1\r\n\r\n") << State::Reject << 400;
    QTest::newRow("bad version") << QByteArray("GET / HTTX/1.1\r\n\r\n") << State::Reject << 400;
    QTest::newRow("HTTP/2") << QByteArray("GET / HTTP/2.0\r\n\r\n") << State::Reject << 505;
    QTest::newRow("bad version decided at the line end")
        << QByteArray("GET / FOO\r\nHost: x\r\n") << State::Reject << 400;
    QTest::newRow("header without colon") << QByteArray("GET / HTTP/1.1\r\nHost x\r\n\r\n") << State::Reject << 400;
    QTest::newRow("header name space") << QByteArray("GET / HTTP/1.1\r\nHo st: x\r\n\r\n") << State::Reject << 400;
    QTest::newRow("obs-fold") << QByteArray("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n") << State::Reject << 400;
    QTest::newRow("control in value") << QByteArray("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n") << State::Reject << 400;
    QTest::newRow("bad Content-Length") << QByteArray("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n") << State::Reject << 400;
    QTest::newRow("conflicting Content-Length")
        << QByteArray("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n") << State::Reject << 400;

    QTest::newRow("body declared") << QByteArray("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n") << State::Reject << 413;
    QTest::newRow("chunked body") << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") << State::Reject << 413;
    QTest::newRow("huge request line, incomplete")
        << QByteArray("GET /" + big) << State::Reject << 413;
    QTest::newRow("huge header, complete")
        << QByteArray("GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n") << State::Reject << 413;
    QTest::newRow("many headers, incomplete")
        << QByteArray("GET / HTTP/1.1\r\n" + QByteArray("X-A: b\r\n").repeated(1200)) << State::Reject << 413;
}

void TestHttp::parseHead()
{
    QFETCH(QByteArray, bytes);
    QFETCH(State, state);
    QFETCH(int, status);
    const auto r = http::parseHead(std::string_view(bytes.constData(), std::size_t(bytes.size())),
                                   http::ParseLimits{8192, 0});
    QCOMPARE(r.state, state);
    QCOMPARE(r.status, status);
    if (state == State::Reject)
        QVERIFY(!r.reason.empty());
}

void TestHttp::requestParts_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("query");
    QTest::newRow("plain") << QByteArray("GET /healthz HTTP/1.1\r\n\r\n") << "GET" << "/healthz" << "";
    QTest::newRow("query") << QByteArray("HEAD /metrics?x=1&y HTTP/1.1\r\n\r\n") << "HEAD" << "/metrics" << "x=1&y";
    QTest::newRow("fragment") << QByteArray("GET /a#frag HTTP/1.1\r\n\r\n") << "GET" << "/a" << "";
    QTest::newRow("absolute-form") << QByteArray("GET http://127.0.0.1:9100/metrics?q HTTP/1.1\r\n\r\n")
                                   << "GET" << "/metrics" << "q";
    QTest::newRow("absolute-form, no path") << QByteArray("GET http://h HTTP/1.1\r\n\r\n") << "GET" << "/" << "";
}

void TestHttp::requestParts()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, method);
    QFETCH(QString, path);
    QFETCH(QString, query);
    const auto r = http::parseHead(bytes.toStdString(), {});
    QCOMPARE(r.state, State::Complete);
    QCOMPARE(QString::fromStdString(r.request.method), method);
    QCOMPARE(QString::fromStdString(r.request.path), path);
    QCOMPARE(QString::fromStdString(r.request.query), query);
}

void TestHttp::everyPrefixOfAGoodRequestNeedsMore()
{
    // Bytes arrive in any split: no prefix may be mistaken for garbage.
    const std::string req = "GET /metrics?x HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nAccept: */*\r\n\r\n";
    for (std::size_t n = 0; n < req.size(); ++n) {
        const auto r = http::parseHead(std::string_view(req).substr(0, n), {});
        QVERIFY2(r.state == State::NeedMore, qPrintable(QString("prefix of %1 bytes").arg(n)));
    }
    QCOMPARE(http::parseHead(req, {}).state, State::Complete);
}

void TestHttp::serialize()
{
    Response r;
    r.status = 405;
    r.body = "no\n";
    r.headers.emplace_back("Allow", "GET, HEAD");
    QCOMPARE(QString::fromStdString(http::serialize(r, false)),
             QString("HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: 3\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "Allow: GET, HEAD\r\n\r\nno\n"));
    const auto head = http::serialize(r, true);
    QVERIFY(head.ends_with("\r\n\r\n"));
    QVERIFY(head.find("Content-Length: 3\r\n") != std::string::npos); // HEAD: length of the GET body
    QCOMPARE(QString::fromStdString(http::errorResponse(404).body), QString("404 Not Found\n"));
}

QTEST_GUILESS_MAIN(TestHttp)
#include "tst_http.moc"
