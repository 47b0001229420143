// endpoints/server_connections.cpp — the server thread's poll loop and
// each connection's states (server_impl.h): accept (bounded by
// maxConnections, 503 beyond), read the head (408 past headTimeout, 413 past
// maxHeadBytes), write the answer without blocking (resumed partial writes,
// bounded by writeTimeout), half-close and linger so the client reads the
// answer rather than a reset.
// Invariants: no call here blocks (every socket is non-blocking, MSG_NOSIGNAL
// everywhere); a Waiting connection is neither polled nor timed out; the
// poll timeout is the nearest deadline.
#include "endpoints/server_impl.h"

#include "endpoints/logging.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace stoa::endpoints {

namespace {

// Sent, best effort, to connections over the limit.
constexpr std::string_view kBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                                   "charset=utf-8\r\nContent-Length: 31\r\nConnection: close\r\n"
                                   "Retry-After: 1\r\n\r\n503 Service Unavailable: busy\r\n";
static_assert(std::string_view("503 Service Unavailable: busy\r\n").size() == 31);

} // namespace

void LocalServer::Impl::respond(Connection &c, const Response &r, bool headOnly,
                                std::string_view pathLabel)
{
    requestsTotal.labels({std::string(pathLabel), std::to_string(r.status)}).inc();
    c.out = http::serialize(r, headOnly);
    c.sent = 0;
    c.in.clear();
    c.in.shrink_to_fit();
    c.state = State::Writing;
    c.deadline = Clock::now() + limits.writeTimeout;
    onWritable(c); // most answers fit the socket buffer: no extra poll round
}

void LocalServer::Impl::finishWrite(Connection &c)
{
    // Half-close, then read until the client closes: closing with unread
    // input would send a reset that can destroy the answer in flight.
    ::shutdown(c.fd, SHUT_WR);
    c.out.clear();
    c.out.shrink_to_fit();
    c.state = State::Lingering;
    c.deadline = Clock::now() + limits.lingerTimeout;
}

void LocalServer::Impl::onWritable(Connection &c)
{
    while (c.sent < c.out.size()) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.sent += std::size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; // poll for POLLOUT
        closeFd(c.fd); // the peer is gone
        return;
    }
    finishWrite(c);
}

void LocalServer::Impl::onReadable(Connection &c)
{
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) { // EOF or error: nothing more to say to this peer
            closeFd(c.fd);
            return;
        }
        if (c.state == State::Lingering)
            continue; // discard
        c.in.append(buf, std::size_t(n));
        if (c.in.size() > limits.maxHeadBytes)
            break; // enough to decide 413; do not buffer a flood
    }
    if (c.state != State::Reading)
        return;
    const auto parsed = http::parseHead(c.in, {limits.maxHeadBytes, limits.maxBodyBytes});
    switch (parsed.state) {
    case http::ParseResult::State::NeedMore:
        return;
    case http::ParseResult::State::Reject:
        qCDebug(lcEndpoints) << "rejected request:" << parsed.status << parsed.reason.c_str();
        respond(c, http::errorResponse(parsed.status, parsed.reason), false, "other");
        return;
    case http::ParseResult::State::Complete:
        dispatch(c, parsed.request);
        return;
    }
}

void LocalServer::Impl::onDeadline(Connection &c)
{
    if (c.state == State::Reading) {
        qCDebug(lcEndpoints) << "request head not complete within" << limits.headTimeout.count()
                             << "ms; closing";
        respond(c, http::errorResponse(408, "request head not received in time"), false, "other");
        if (c.fd >= 0 && c.state == State::Writing)
            c.deadline = Clock::now() + std::min(limits.writeTimeout, limits.lingerTimeout);
        return;
    }
    closeFd(c.fd); // a stuck reader, or lingering long enough
}

void LocalServer::Impl::acceptAll()
{
    for (int i = 0; i < 64; ++i) { // bounded: connections already open get their turn too
        const int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                qCWarning(lcEndpoints) << "accept:" << std::strerror(errno) << "- pausing 100 ms";
                acceptPausedUntil = Clock::now() + std::chrono::milliseconds(100);
            }
            return;
        }
        if (int(connections.size()) >= limits.maxConnections) {
            refusedTotal.inc();
            char scratch[2048];
            while (::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0) {
            }
            [[maybe_unused]] const auto n =
                ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            continue;
        }
        Connection c;
        c.id = nextConnectionId++;
        c.fd = fd;
        c.deadline = Clock::now() + limits.headTimeout;
        connections.push_back(std::move(c));
    }
}

void LocalServer::Impl::run()
{
    std::vector<pollfd> fds;
    while (!stopping.load()) {
        const auto now = Clock::now();
        fds.clear();
        fds.push_back({wakeRead, POLLIN, 0});
        const bool acceptPaused = now < acceptPausedUntil;
        fds.push_back({acceptPaused ? -1 : listenFd, POLLIN, 0});
        auto next = acceptPaused ? acceptPausedUntil : Clock::time_point::max();
        for (const auto &c : connections) {
            // A Waiting connection is not polled (fd -1): its client's next
            // bytes, or its hang-up, matter only once the answer is written.
            fds.push_back({c.state == State::Waiting ? -1 : c.fd, short(c.state == State::Writing ? POLLOUT : POLLIN), 0});
            next = std::min(next, c.deadline);
        }
        int timeout = -1;
        if (next != Clock::time_point::max()) {
            const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
            timeout = int(std::clamp<long long>(ms, 0, 60'000));
        }
        const int ready = ::poll(fds.data(), fds.size(), timeout);
        if (ready < 0 && errno != EINTR) {
            qCCritical(lcEndpoints) << "poll:" << std::strerror(errno);
            break;
        }
        if (fds[0].revents) {
            char drain[64];
            while (::read(wakeRead, drain, sizeof drain) > 0) {
            }
        }
        if (stopping.load())
            break;
        takeFinished(); // before the connections: they are indexed like fds

        // Connections first (indices match fds[2..]), then new ones.
        const auto afterPoll = Clock::now();
        for (std::size_t i = 0; i < connections.size(); ++i) {
            auto &c = connections[i];
            const short ev = fds[i + 2].revents;
            if (ev && c.state == State::Writing)
                onWritable(c); // POLLERR/POLLHUP included: send() reports them
            else if (ev)
                onReadable(c); // POLLHUP/POLLERR included: recv() reports them
            if (c.fd >= 0 && afterPoll >= c.deadline)
                onDeadline(c);
        }
        std::erase_if(connections, [](const Connection &c) { return c.fd < 0; });
        if (fds[1].revents & POLLIN)
            acceptAll();
        openConnections.set(double(connections.size()));
    }
    for (auto &c : connections)
        closeFd(c.fd);
    connections.clear();
    openConnections.set(0);
}

} // namespace stoa::endpoints
