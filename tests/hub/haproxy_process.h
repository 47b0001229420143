// tests/hub/haproxy_process.h — HAProxy (Debian `haproxy`) as a child process
// in front of stoa-hub replicas, for the tests that run the hub tier as
// real processes (tst_replicas, tst_spike; issue 18).
//
// Job: write a config (one HTTP frontend, a CSV stats page on a second
// port, one backend with active health checks on /healthz), start
// `haproxy -db` on it, wait until its stats page answers, and read a
// backend server's state and counters from that page.
// Invariants:
//  - start() returns once the stats page answered, or why not (with
//    HAProxy's output when it exited); the wait is a poll with a deadline;
//  - a connection a replica refused is tried again on another one (the
//    request never reached the refusing replica): retry-on conn-failure;
//  - the destructor kills a HAProxy still running.
#pragma once

#include "http_client.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <string>
#include <vector>

namespace stoa::hub::test {

struct HaproxyOptions {
    int maxconn = 2000;     // global: connections beyond it wait in HAProxy's accept queue
    int checkInterMs = 500; // /healthz checked every …, a server out after 2 failures, in after 2 passes
    int checkTimeoutMs = 0; // a check's read timeout; 0: `inter` (HAProxy's default)
    int serverTimeoutS = 30;
    // Retry-After on HAProxy's own 503 (no replica up), as
    // packaging/hub/haproxy-stoa-hub.cfg's http-error; 0: HAProxy's default page, without it.
    int retryAfterS = 0;
    QString backendExtra; // more lines for the backend ("http-reuse never\n"), for experiments
};

// The body of HAProxy's own 503 with HaproxyOptions::retryAfterS (HAProxy's
// default page says "No server is available to handle this request.").
inline constexpr const char *kHaproxyNoReplica = "no stoa-hub replica is available: retry later";

class Haproxy {
public:
    QString start(const QString &dir, quint16 front, quint16 stats, const std::vector<quint16> &servers,
                  const HaproxyOptions &o = {})
    {
        front_ = front;
        stats_ = stats;
        QString cfg = QStringLiteral(
                          "global\n  maxconn %3\n"
                          "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server %4s\n"
                          "  timeout http-request 10s\n"
                          // A connection the dead replica refused is tried on the
                          // other one: the request never reached the dead one.
                          "  retries 2\n  option redispatch\n  retry-on conn-failure\n"
                          "%5"
                          "frontend stoa\n  bind 127.0.0.1:%1\n  default_backend hubs\n"
                          "frontend stats\n  bind 127.0.0.1:%2\n  stats enable\n  stats uri /stats\n"
                          "backend hubs\n  option httpchk GET /healthz\n  http-check expect status 200\n")
                          .arg(front)
                          .arg(stats)
                          .arg(o.maxconn)
                          .arg(o.serverTimeoutS)
                          .arg(o.retryAfterS > 0 ? QStringLiteral("  http-error status 503 content-type \"text/plain; charset=utf-8\" "
                                                                  "string \"%1\\n\" hdr Retry-After %2\n")
                                                       .arg(QString::fromLatin1(kHaproxyNoReplica))
                                                       .arg(o.retryAfterS)
                                                 : QString());
        if (o.checkTimeoutMs > 0)
            cfg += QStringLiteral("  timeout check %1ms\n").arg(o.checkTimeoutMs);
        cfg += QStringLiteral("  default-server inter %1ms fall 2 rise 2\n").arg(o.checkInterMs);
        cfg += o.backendExtra;
        for (std::size_t i = 0; i < servers.size(); ++i)
            cfg += QStringLiteral("  server hub%1 127.0.0.1:%2 check\n").arg(i + 1).arg(servers[i]);
        const QString path = dir + "/haproxy.cfg";
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(cfg.toUtf8()) != cfg.toUtf8().size())
            return "cannot write " + path;
        f.close();
        process_.setProcessChannelMode(QProcess::MergedChannels);
        process_.start(QStringLiteral("haproxy"), {"-f", path, "-db"});
        if (!process_.waitForStarted(10000))
            return "haproxy did not start: " + process_.errorString();
        QDeadlineTimer deadline(20000);
        while (!deadline.hasExpired()) {
            if (process_.state() == QProcess::NotRunning)
                return "haproxy exited: " + QString::fromLocal8Bit(process_.readAll());
            if (HttpClient(statsBase()).get("/stats;csv").status == 200)
                return {};
            process_.waitForFinished(50); // the poll's pace
        }
        return "haproxy's stats page did not answer";
    }
    ~Haproxy()
    {
        if (process_.state() != QProcess::NotRunning) {
            process_.kill();
            process_.waitForFinished(10000);
        }
    }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(front_); }
    std::string statsBase() const { return "http://127.0.0.1:" + std::to_string(stats_); }
    quint16 frontPort() const { return front_; }
    qint64 pid() const { return process_.processId(); }

    // Column `column` ("status": "UP", "DOWN", "UP 1/2", …; "chkdown": times
    // taken out; "hrsp_5xx", …) of proxy `proxy`'s row `name` ("hub1",
    // "BACKEND", "FRONTEND"); empty when unknown.
    QString stat(const QString &name, const QString &column = QStringLiteral("status"),
                 const QString &proxy = QStringLiteral("hubs")) const
    {
        const auto csv = HttpClient(statsBase()).get("/stats;csv");
        const auto lines = QString::fromStdString(csv.body).split('\n', Qt::SkipEmptyParts);
        if (lines.isEmpty())
            return {};
        const auto header = lines[0].mid(2).split(','); // "# pxname,svname,…"
        const auto col = header.indexOf(column);
        if (col < 0)
            return {};
        for (const auto &line : lines.mid(1)) {
            const auto cells = line.split(',');
            if (cells.size() > col && cells[0] == proxy && cells[1] == name)
                return cells[col];
        }
        return {};
    }
    QString status(const QString &name) const { return stat(name); }

private:
    quint16 front_ = 0, stats_ = 0;
    QProcess process_;
};

} // namespace stoa::hub::test
