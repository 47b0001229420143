// tests/player/http_server.h — a small HTTP/1.1 server on a real loopback
// socket (QTcpServer), for the web item tests.
//
// Job: serve fixed pages by path (anything else: 404), count the requests
// per path, and, in "silent" mode, accept connections and read requests but
// never answer (a server that hangs; setSilent() switches it mid-run). One request per connection
// (Connection: close). Runs in the test's event loop: Chromium's network
// service fetches from it in another process over the socket.
// Invariant: listening from construction until destruction, on 127.0.0.1.
#pragma once

#include <QHash>
#include <QTcpServer>
#include <QTcpSocket>

namespace stoa::testing {

class TinyHttpServer : public QObject {
public:
    explicit TinyHttpServer(bool silent = false) : m_silent(silent)
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
    QString url(const QString &path) const
    {
        return QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.serverPort()).arg(path);
    }
    int requests(const QString &path) const { return m_requests.value(path); }
    // Silent from now on (a server that stopped answering), or answering again.
    void setSilent(bool silent) { m_silent = silent; }
    int connections() const { return m_connections; }

private:
    void onData(QTcpSocket *s)
    {
        QByteArray &buffer = m_buffers[s];
        buffer += s->readAll();
        const auto end = buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        ++m_connections;
        const QList<QByteArray> requestLine = buffer.left(buffer.indexOf("\r\n")).split(' ');
        m_buffers.remove(s);
        const QString path = requestLine.size() >= 2 ? QString::fromLatin1(requestLine[1]) : QString();
        m_requests[path] += 1;
        if (m_silent)
            return; // keep the connection open and say nothing
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
    QHash<QString, int> m_requests;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    int m_connections = 0;
};

} // namespace stoa::testing
