#include "nginx_server.h"

#include "loopback_port.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QThread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stoa::testing {

namespace {

void addMode(const QString &path, mode_t bits)
{
    struct stat st {};
    const QByteArray p = QFile::encodeName(path);
    if (::stat(p.constData(), &st) == 0 && (st.st_mode & bits) != bits)
        ::chmod(p.constData(), (st.st_mode & 07777) | bits);
}

// nginx logs "-" for an empty variable.
QString dashless(const QString &s) { return s == "-" ? QString() : s; }

} // namespace

QString NginxServer::findBinary()
{
    QString found = QStandardPaths::findExecutable("nginx");
    if (found.isEmpty())
        found = QStandardPaths::findExecutable("nginx", {"/usr/sbin", "/usr/local/sbin", "/sbin"});
    return found;
}

void NginxServer::openUpTree(const QString &path, const QString &stopAt)
{
    addMode(path, S_IRUSR | S_IRGRP | S_IROTH | (QFileInfo(path).isDir() ? S_IXUSR | S_IXGRP | S_IXOTH : 0));
    QDirIterator it(path, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString p = it.next();
        const bool dir = it.fileInfo().isDir();
        addMode(p, S_IRUSR | S_IRGRP | S_IROTH | (dir ? S_IXUSR | S_IXGRP | S_IXOTH : 0));
    }
    const QString stop = stopAt.isEmpty() ? QString() : QDir::cleanPath(QFileInfo(stopAt).absoluteFilePath());
    QDir parent = QFileInfo(path).absoluteDir();
    while (!parent.isRoot() && QDir::cleanPath(parent.absolutePath()) != stop) {
        addMode(parent.absolutePath(), S_IXUSR | S_IXGRP | S_IXOTH);
        if (!parent.cdUp())
            break;
    }
}

NginxServer::NginxServer(QString workDir, QString root)
    : m_workDir(QDir(workDir).absolutePath()), m_root(QDir(root).absolutePath())
{
}

NginxServer::~NginxServer() { (void)stop(); }

void NginxServer::useTls(QString certificateFile, QString keyFile)
{
    m_tlsCert = QDir(certificateFile).absolutePath();
    m_tlsKey = QDir(keyFile).absolutePath();
}

QString NginxServer::baseUrl() const
{
    return QStringLiteral("%1://127.0.0.1:%2").arg(m_tlsCert.isEmpty() ? "http" : "https").arg(m_port);
}
QString NginxServer::accessLogPath() const { return m_workDir + "/access.log"; }
QString NginxServer::errorLogPath() const { return m_workDir + "/error.log"; }

bool NginxServer::running() const { return m_process && m_process->state() != QProcess::NotRunning; }

std::expected<void, QString> NginxServer::writeConfig()
{
    for (const char *sub : {"tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"})
        if (!QDir().mkpath(m_workDir + "/" + sub))
            return std::unexpected("cannot create " + m_workDir + "/" + sub);
    const QString w = m_workDir;
    // $request_completion tells a finished body from one cut by the client.
    const QString conf = QStringLiteral(
        "daemon off;\n"
        "master_process on;\n"
        "worker_processes 1;\n"
        "pid %1/nginx.pid;\n"
        "error_log %1/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "  types { application/json json; }\n"
        "  default_type application/octet-stream;\n"
        "  log_format stoa '$request_method $uri $status $body_bytes_sent $request_completion "
        "\"$http_range\" \"$http_if_none_match\" $msec $request_time \"$http_user_agent\"';\n"
        "  access_log %1/access.log stoa;\n"
        "  client_body_temp_path %1/tmp/body;\n"
        "  proxy_temp_path %1/tmp/proxy;\n"
        "  fastcgi_temp_path %1/tmp/fastcgi;\n"
        "  uwsgi_temp_path %1/tmp/uwsgi;\n"
        "  scgi_temp_path %1/tmp/scgi;\n"
        "  sendfile on;\n"
        "  tcp_nopush on;\n"
        "  keepalive_timeout 65;\n"
        "  etag on;\n"
        "  server {\n"
        "    listen 127.0.0.1:%2%4;\n"
        "    server_name localhost;\n"
        "%5"
        "    root %3;\n"
        "    location / { }\n"
        "  }\n"
        "}\n")
                             .arg(w)
                             .arg(m_port)
                             .arg(m_root)
                             .arg(m_tlsCert.isEmpty() ? QString() : QStringLiteral(" ssl"))
                             .arg(m_tlsCert.isEmpty() ? QString()
                                                      : QStringLiteral("    ssl_certificate %1;\n"
                                                                       "    ssl_certificate_key %2;\n")
                                                            .arg(m_tlsCert, m_tlsKey));
    QFile f(w + "/nginx.conf");
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(conf.toUtf8()) < 0)
        return std::unexpected("cannot write " + f.fileName());
    return {};
}

bool NginxServer::answers() const
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(m_port);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0) {
        static const char probe[] = "HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n";
        if (::send(fd, probe, sizeof probe - 1, MSG_NOSIGNAL) == ssize_t(sizeof probe - 1)) {
            pollfd p{fd, POLLIN, 0};
            char buf[16] = {};
            if (::poll(&p, 1, 1000) == 1 && ::recv(fd, buf, sizeof buf - 1, 0) >= 5)
                ok = QByteArray(buf).startsWith("HTTP/");
        }
    }
    ::close(fd);
    return ok;
}

std::expected<void, QString> NginxServer::start(std::chrono::milliseconds deadline)
{
    if (running())
        return {};
    const QString binary = findBinary();
    if (binary.isEmpty())
        return std::unexpected(QStringLiteral("nginx is not installed"));
    if (!QDir().mkpath(m_workDir))
        return std::unexpected("cannot create " + m_workDir);
    if (m_port == 0)
        m_port = freeLoopbackPort();
    if (m_port == 0)
        return std::unexpected(QStringLiteral("no free loopback port"));
    if (auto ok = writeConfig(); !ok)
        return ok;

    m_process = std::make_unique<QProcess>();
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    m_process->setStandardOutputFile(m_workDir + "/nginx.out", QIODevice::Append);
    // -e: the error log before the config is read (else /var/log/nginx).
    m_process->start(binary, {"-p", m_workDir, "-c", m_workDir + "/nginx.conf", "-e", errorLogPath()});
    if (!m_process->waitForStarted(5000))
        return std::unexpected("cannot run " + binary + ": " + m_process->errorString());

    const QDeadlineTimer timer(deadline);
    while (!timer.hasExpired()) {
        if (m_process->state() == QProcess::NotRunning || m_process->waitForFinished(0))
            return std::unexpected(QStringLiteral("nginx exited (code %1) during start-up:\n%2")
                                       .arg(m_process->exitCode())
                                       .arg(errorLogTail()));
        if (answers())
            return {};
        QThread::msleep(20); // polling for readiness, bounded by the deadline
    }
    (void)stop();
    return std::unexpected(QStringLiteral("nginx did not answer on port %1 within %2 ms:\n%3")
                               .arg(m_port)
                               .arg(deadline.count())
                               .arg(errorLogTail()));
}

std::expected<void, QString> NginxServer::stop()
{
    if (!m_process)
        return {};
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate(); // SIGTERM: nginx's fast shutdown, workers included
        if (!m_process->waitForFinished(10000)) {
            m_process->kill();
            m_process->waitForFinished(5000);
            m_process.reset();
            return std::unexpected(QStringLiteral("nginx ignored SIGTERM for 10 s; killed"));
        }
    }
    m_process.reset();
    // The workers exit with the master; nginx removes its pid file last.
    return {};
}

QList<AccessRecord> NginxServer::accessLog() const
{
    QList<AccessRecord> out;
    QFile f(accessLogPath());
    if (!f.open(QIODevice::ReadOnly))
        return out;
    static const QRegularExpression re(
        R"re(^(\S+) (\S+) (\d+) (\d+) (\S*) "([^"]*)" "([^"]*)" ([\d.]+) ([\d.]+) "([^"]*)"$)re");
    while (!f.atEnd()) {
        const QString line = QString::fromUtf8(f.readLine()).trimmed();
        const auto m = re.match(line);
        if (!m.hasMatch())
            continue;
        AccessRecord r;
        r.method = m.captured(1);
        r.uri = m.captured(2);
        r.status = m.captured(3).toInt();
        r.bodyBytes = m.captured(4).toLongLong();
        r.completed = m.captured(5) == "OK";
        r.range = dashless(m.captured(6));
        r.ifNoneMatch = dashless(m.captured(7));
        r.msec = m.captured(8).toDouble();
        r.requestTime = m.captured(9).toDouble();
        r.userAgent = dashless(m.captured(10));
        out.append(r);
    }
    return out;
}

QString NginxServer::errorLogTail(int lines) const
{
    QFile f(errorLogPath());
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("(no error log)");
    const QStringList all = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    return all.mid(std::max<qsizetype>(0, all.size() - lines)).join('\n');
}

} // namespace stoa::testing
