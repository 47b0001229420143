// tests/sync/fault_server.cpp — the fault-injecting HTTP/1.1 test server:
// its lifecycle, configuration, request log and connections.
//
// One acceptor thread and one thread per connection, each blocking only in
// poll() on its socket plus the shared wake pipe, so the destructor
// interrupts every wait (a drip's interval, a hang, a slow client). The
// rest of the server is in fault_http.cpp (reading requests),
// fault_factories.cpp (faults, choosing the answer), fault_static.cpp
// (static files) and fault_send.cpp (writing the answer).
//
// Invariants: configuration and the log are only touched under m_mutex;
// the connection list only under m_connMutex; a finished connection's
// thread is joined by the acceptor (reapFinished) or the destructor.
#include "fault_server_internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

Q_LOGGING_CATEGORY(lcFaultServer, "stoa.test.faultserver", QtWarningMsg)

namespace stoa::testing {

using detail::Wait;

FaultServer::FaultServer()
{
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    m_wakeRead = pipeFds[0];
    m_wakeWrite = pipeFds[1];

    m_listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_listenFd < 0)
        throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(m_listenFd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::listen(m_listenFd, 128) != 0 ||
        ::getsockname(m_listenFd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        const int err = errno;
        ::close(m_listenFd);
        throw std::system_error(err, std::generic_category(), "bind/listen");
    }
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] { acceptLoop(); });
    qCDebug(lcFaultServer) << "listening on port" << m_port;
}

FaultServer::~FaultServer()
{
    const char stop = 's';
    [[maybe_unused]] const ssize_t ignored = ::write(m_wakeWrite, &stop, 1);
    if (m_acceptor.joinable())
        m_acceptor.join();
    {
        std::lock_guard lock(m_connMutex);
        for (auto &c : m_connections)
            if (c->thread.joinable())
                c->thread.join();
        m_connections.clear();
    }
    ::close(m_listenFd);
    ::close(m_wakeRead);
    ::close(m_wakeWrite);
}

std::string FaultServer::baseUrl() const
{
    return "http://127.0.0.1:" + std::to_string(m_port);
}

void FaultServer::setDocumentRoot(std::filesystem::path dir)
{
    std::lock_guard lock(m_mutex);
    m_root = std::move(dir);
}

void FaultServer::setResponse(const std::string &method, const std::string &path, int status,
                              std::string body, Headers headers)
{
    std::lock_guard lock(m_mutex);
    m_responses[{method, path}] = {status, std::move(body), std::move(headers)};
}

int FaultServer::addFault(Fault fault)
{
    std::lock_guard lock(m_mutex);
    const int id = m_nextFaultId++;
    m_faults.emplace_back(id, std::move(fault));
    return id;
}

void FaultServer::removeFault(int id)
{
    std::lock_guard lock(m_mutex);
    std::erase_if(m_faults, [id](const auto &f) { return f.first == id; });
}

void FaultServer::clearFaults()
{
    std::lock_guard lock(m_mutex);
    m_faults.clear();
}

int FaultServer::usesLeft(int id) const
{
    std::lock_guard lock(m_mutex);
    for (const auto &[fid, f] : m_faults)
        if (fid == id)
            return f.uses;
    return 0;
}

std::vector<RecordedRequest> FaultServer::requests() const
{
    std::lock_guard lock(m_mutex);
    return m_log;
}

std::vector<RecordedRequest> FaultServer::requestsTo(const std::string &path) const
{
    std::lock_guard lock(m_mutex);
    std::vector<RecordedRequest> out;
    std::copy_if(m_log.begin(), m_log.end(), std::back_inserter(out),
                 [&](const RecordedRequest &r) { return r.path == path; });
    return out;
}

void FaultServer::clearLog()
{
    std::lock_guard lock(m_mutex);
    m_log.clear();
}

bool FaultServer::waitFor(const Predicate &pred, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(m_mutex);
    return m_logChanged.wait_for(lock, timeout, [&] { return pred(m_log); });
}

bool FaultServer::waitForRequests(const std::string &path, std::size_t n,
                                  std::chrono::milliseconds timeout) const
{
    return waitFor(
        [&](const std::vector<RecordedRequest> &log) {
            return std::size_t(std::count_if(log.begin(), log.end(),
                                             [&](const RecordedRequest &r) { return r.path == path; })) >= n;
        },
        timeout);
}

void FaultServer::acceptLoop()
{
    pollfd fds[2] = {{m_listenFd, POLLIN, 0}, {m_wakeRead, POLLIN, 0}};
    for (;;) {
        const int n = ::poll(fds, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (fds[1].revents & POLLIN))
            return;
        const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        reapFinished();
        std::lock_guard lock(m_connMutex);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->serial = ++m_connectionSerial;
        c->wakeFd = m_wakeRead;
        Connection *raw = c.get();
        c->thread = std::thread([this, raw] { serve(*raw); });
        m_connections.push_back(std::move(c));
    }
}

void FaultServer::reapFinished()
{
    std::lock_guard lock(m_connMutex);
    std::erase_if(m_connections, [](std::unique_ptr<Connection> &c) {
        if (!c->done.load())
            return false;
        c->thread.join();
        return true;
    });
}

void FaultServer::serve(Connection &c)
{
    try {
        std::string buffer;
        while (handleOne(c, buffer)) {
        }
    } catch (const std::exception &e) {
        qCWarning(lcFaultServer) << "connection" << c.serial << "failed:" << e.what();
    }
    if (c.fd >= 0) {
        // Lingering close, as nginx does: a FIN, then read what the client
        // still sends, so unread input cannot turn our close into a RST that
        // would destroy the last response in flight.
        ::shutdown(c.fd, SHUT_WR);
        std::string sink;
        while (sink.size() < (1u << 20) && c.wait(POLLIN, 1000) == Wait::Ready && c.readMore(sink)) {
        }
        ::close(c.fd);
    }
    c.fd = -1;
    c.done.store(true);
}

} // namespace stoa::testing
