// tests/sync/nginx_server.h — a real nginx (the Debian package) serving a
// published site on loopback, for end-to-end tests and benchmarks.
//
// Job: write a private config (pid file, logs, temp paths all under a work
// directory; etag on; sendfile; no proxy or cache), start nginx in the
// foreground as a child process, wait until it answers HTTP, stop it, and
// start it again on the same port (the outage scenario). The access log has
// one parsed line per request (method, uri, status, body bytes, Range,
// If-None-Match, User-Agent), so tests can see what the device asked for.
//
// Invariants:
//  - the port is chosen once (a free loopback port) and kept across restarts;
//  - start() returns only once nginx answered a request, or an error naming
//    the cause (with the tail of nginx's error log);
//  - the destructor stops nginx, so a failing test never leaves it running.
//
// When started as root, nginx's workers drop to an unprivileged user: the
// served tree and all its parents must be world-readable (see openUpTree).
#pragma once

#include <QList>
#include <QProcess>
#include <QString>

#include <chrono>
#include <expected>
#include <memory>

namespace stoa::testing {

// One access-log line (the `stoa` log_format in the generated config).
struct AccessRecord {
    QString method;
    QString uri;           // path only, no query
    int status = 0;
    qint64 bodyBytes = 0;  // $body_bytes_sent: handed to the socket, not necessarily received
    bool completed = false; // $request_completion == "OK"
    QString range;         // Range request header, empty when none
    QString ifNoneMatch;   // If-None-Match request header, empty when none
    double msec = 0;       // $msec: when the line was logged (end of the request), Unix seconds
    double requestTime = 0; // $request_time: seconds from the first byte read to the line logged
    QString userAgent;     // User-Agent request header, empty when none (tells curl from stoa-syncd)
};

class NginxServer {
public:
    // Absolute path of the nginx binary, empty when it is not installed.
    static QString findBinary();
    // chmod a+rX on `path` and everything below it, plus a+x on each parent
    // directory up to (not including) `stopAt`, so nginx's workers can read it.
    static void openUpTree(const QString &path, const QString &stopAt = QString());

    // `workDir`: config, logs, pid and temp paths (created if missing);
    // `root`: the site served at "/".
    NginxServer(QString workDir, QString root);
    ~NginxServer();
    NginxServer(const NginxServer &) = delete;
    NginxServer &operator=(const NginxServer &) = delete;

    // Serve HTTPS with this certificate chain and key (PEM files) instead of
    // plain HTTP; call before start(). baseUrl() then says https://.
    void useTls(QString certificateFile, QString keyFile);

    // Starts nginx and waits until it answers (or the deadline passes).
    std::expected<void, QString> start(std::chrono::milliseconds deadline = std::chrono::seconds(15));
    // Fast shutdown (SIGTERM); waits for the master to exit.
    std::expected<void, QString> stop();
    bool running() const;

    quint16 port() const { return m_port; }
    QString baseUrl() const;
    QString accessLogPath() const;
    QString errorLogPath() const;
    // Every request logged so far, in log order.
    QList<AccessRecord> accessLog() const;
    // Last `lines` lines of the error log, for failure messages.
    QString errorLogTail(int lines = 20) const;

private:
    std::expected<void, QString> writeConfig();
    bool answers() const;

    QString m_workDir;
    QString m_root;
    quint16 m_port = 0; // 0 until the first start() picks one
    QString m_tlsCert, m_tlsKey; // empty: plain HTTP
    std::unique_ptr<QProcess> m_process;
};

} // namespace stoa::testing
