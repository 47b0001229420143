// tests/harness/process_probe.h — looking at a real stoa process the way
// systemd and Prometheus do, for the sync and player process tests:
// a datagram socket standing in for $NOTIFY_SOCKET, one sample read out of a
// /metrics body, the endpoint port read out of the process's log, the CPU
// time /proc has charged it (the benchmarks).
#pragma once

#include "program_run.h"

#include <QFile>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <cstdio>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace stoa::endpoints::testing {

// The value of the sample line `series` + ' ' + value ("name{labels} 12") in
// a /metrics body; nullopt: no such line.
inline std::optional<double> sampleValue(const std::string &text, const std::string &series)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto eol = text.find('\n', pos);
        const auto line = text.substr(pos, eol - pos);
        if (line.rfind(series + " ", 0) == 0)
            return std::stod(line.substr(series.size() + 1));
        if (eol == std::string::npos)
            break;
        pos = eol + 1;
    }
    return std::nullopt;
}

// The same for the process tests: -1 when absent.
inline double metricSample(const std::string &metrics, const QString &series)
{
    return sampleValue(metrics, series.toStdString()).value_or(-1);
}

// Whether Prometheus's own checker (/usr/bin/promtool, Debian package
// `prometheus`) accepts a /metrics body; `why` gets its complaint. True when
// promtool is not installed (`why` says so).
inline bool promtoolAccepts(const std::string &metrics, QString &why)
{
    if (!QFile::exists("/usr/bin/promtool")) {
        why = "promtool not installed";
        return true;
    }
    const auto r = stoa::testing::runProgram("/usr/bin/promtool", {"check", "metrics"},
                                             stoa::testing::RunOptions().merged().input(QByteArray::fromStdString(metrics)));
    why = r.out + r.why;
    return r.ok();
}

// User + system clock ticks /proc/PID/stat has charged `pid`; -1: gone.
inline qint64 cpuTicks(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray line = f.readAll();
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    return fields.size() > 13 ? fields[11].toLongLong() + fields[12].toLongLong() : -1; // utime, stime
}

// A "Key:    1234 kB" line of /proc/PID/status in KiB: `key` is "VmRSS"
// (resident now), "VmHWM" (its peak), ...; -1: the process is gone or has
// no such line. `pid` may be "self" (the test itself).
inline qint64 procStatusKiB(const QString &pid, const char *key)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray prefix = QByteArray(key) + ':';
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith(prefix))
            return line.mid(prefix.size()).trimmed().split(' ').value(0).toLongLong();
    return -1;
}

inline qint64 procStatusKiB(qint64 pid, const char *key) { return procStatusKiB(QString::number(pid), key); }

// The port of "serving http://127.0.0.1:PORT" in a log; 0: not logged yet.
inline int servingPort(const QByteArray &log)
{
    const auto m = QRegularExpression("serving http://127\\.0\\.0\\.1:(\\d+)").match(QString::fromUtf8(log));
    return m.hasMatch() ? m.captured(1).toInt() : 0;
}

// A unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
public:
    explicit NotifySocket(const QString &path) : m_path(path.toStdString())
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", m_path.c_str());
        m_ok = m_fd >= 0 && ::bind(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    }
    ~NotifySocket()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        ::unlink(m_path.c_str());
    }
    NotifySocket(const NotifySocket &) = delete;
    NotifySocket &operator=(const NotifySocket &) = delete;

    bool ok() const { return m_ok; }
    // Every datagram received so far, one message each.
    const QStringList &messages()
    {
        char buf[4096];
        for (ssize_t n; (n = ::recv(m_fd, buf, sizeof buf, 0)) > 0;)
            m_messages << QString::fromUtf8(buf, int(n));
        return m_messages;
    }
    // Messages holding the assignment `line` (e.g. "WATCHDOG=1").
    int count(const QString &line)
    {
        int n = 0;
        for (const auto &m : messages())
            n += m.split('\n').contains(line) ? 1 : 0;
        return n;
    }
    bool anyStartsWith(const QString &prefix)
    {
        for (const auto &m : messages())
            if (m.startsWith(prefix))
                return true;
        return false;
    }

private:
    std::string m_path;
    int m_fd = -1;
    bool m_ok = false;
    QStringList m_messages;
};

} // namespace stoa::endpoints::testing
