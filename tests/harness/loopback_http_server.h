// tests/harness/loopback_http_server.h — the tests' one small HTTP/1.1 server
// on a real loopback socket (QTcpServer), for a process under test that
// talks HTTP: the player's web items fetch pages from it, the real
// stoa-syncd POSTs its heartbeat to it.
//
// Job: serve fixed pages by path; record the body of every POST to the
// paths given to acceptPosts() and answer 204; anything else 404. Count the
// requests per path. In "silent" mode, accept connections and read requests
// but never answer (a server that hangs; setSilent() switches it mid-run).
// One request per connection (Connection: close); a body is read by its
// Content-Length, and "Expect: 100-continue" (curl's, before a larger body)
// is answered. Runs in the test's event loop: the other process reaches it
// over the socket. The test target links Qt6::Network.
// Invariant: listening from construction until destruction, on 127.0.0.1.
#pragma once

#include <QHash>
#include <QSet>
#include <QTcpServer>
#include <QTcpSocket>

#include <vector>

namespace stoa::testing {

class LoopbackHttpServer : public QObject {
public:
    explicit LoopbackHttpServer(bool silent = false) : m_silent(silent)
    {
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                s->setParent(this);
                QObject::connect(s, &QTcpSocket::readyRead, s, [this, s] { onData(s); });
                QObject::connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
            }
        });
        if (!m_server.listen(QHostAddress::LocalHost))
            qFatal("cannot listen: %s", qPrintable(m_server.errorString()));
    }

    void page(const QString &path, const QByteArray &html) { m_pages[path] = html; }
    // POSTs to `path` are recorded (posted()) and answered 204 No Content.
    void acceptPosts(const QString &path) { m_postPaths.insert(path); }
    QString url(const QString &path = {}) const
    {
        return QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.serverPort()).arg(path);
    }
    int requests(const QString &path) const { return m_requests.value(path); }
    // The bodies POSTed to an accepted path, in order of arrival.
    const std::vector<QByteArray> &posted() const { return m_posted; }
    // Silent from now on (a server that stopped answering), or answering again.
    void setSilent(bool silent) { m_silent = silent; }
    int connections() const { return m_connections; }

private:
    void onData(QTcpSocket *s)
    {
        QByteArray &buffer = m_buffers[s];
        buffer += s->readAll();
        const qsizetype end = buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        const QByteArray head = buffer.left(end).toLower();
        qsizetype length = 0;
        for (const QByteArray &line : head.split('\n'))
            if (line.startsWith("content-length:"))
                length = line.mid(15).trimmed().toLongLong();
        if (buffer.size() < end + 4 + length) {
            if (head.contains("expect: 100-continue") && !m_continued.contains(s)) {
                m_continued.insert(s);
                s->write("HTTP/1.1 100 Continue\r\n\r\n");
            }
            return;
        }
        ++m_connections;
        const QList<QByteArray> requestLine = buffer.left(buffer.indexOf("\r\n")).split(' ');
        const QString path = QString::fromLatin1(requestLine.value(1));
        const bool post = requestLine.value(0) == "POST" && m_postPaths.contains(path);
        if (post)
            m_posted.push_back(buffer.mid(end + 4, length));
        m_buffers.remove(s);
        m_continued.remove(s);
        m_requests[path] += 1;
        if (m_silent)
            return; // keep the connection open and say nothing
        if (post) {
            s->write("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            s->disconnectFromHost();
            return;
        }
        const bool found = m_pages.contains(path);
        const QByteArray body = found ? m_pages.value(path) : QByteArray("not found");
        QByteArray response = found ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n";
        response += "Content-Type: " + QByteArray(found ? "text/html; charset=utf-8" : "text/plain") + "\r\n";
        response += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
        response += "Cache-Control: no-store\r\nConnection: close\r\n\r\n" + body;
        s->write(response);
        s->disconnectFromHost();
    }

    bool m_silent;
    QTcpServer m_server;
    QHash<QString, QByteArray> m_pages;
    QSet<QString> m_postPaths;
    std::vector<QByteArray> m_posted;
    QHash<QString, int> m_requests;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QSet<QTcpSocket *> m_continued;
    int m_connections = 0;
};

} // namespace stoa::testing
