// bench/http_pool.h — the load generators' HTTP/1.1 client: a bounded pool of
// non-blocking keep-alive connections to one loopback port, driven by one
// thread's epoll loop (hub_herd_bench and fleet_rehearsal).
//
// Job: send requests for "owners" (virtual devices), hand each answer or
// failure back through `done`, which may return the owner's next request for
// the same connection (a poll's three GETs on one keep-alive connection, as
// the agent's libcurl does).
// Invariants:
//  - one request in flight per connection; at most `maxConns` connections;
//  - a request that finds no free connection waits in a FIFO and fails as
//    Fail::Queued after connectTimeoutNs (a real device would not queue);
//  - a request that dies on a reused connection before any answer byte is
//    sent once more on a fresh one (as libcurl does), never twice;
//  - every request ends in exactly one `done` call.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <vector>

namespace stoa::bench {

inline std::int64_t monoNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

enum class Fail { None, Refused, Reset, Eof, ConnectTimeout, Queued, Timeout, Protocol };

inline const char *failName(Fail f)
{
    switch (f) {
    case Fail::None: return "none";
    case Fail::Refused: return "refused";
    case Fail::Reset: return "reset";
    case Fail::Eof: return "closed";
    case Fail::ConnectTimeout: return "connect timeout";
    case Fail::Queued: return "no connection within the connect timeout";
    case Fail::Timeout: return "timeout";
    case Fail::Protocol: return "protocol";
    }
    return "";
}

struct Result {
    int status = 0; // 0: no answer (see fail)
    Fail fail = Fail::None;
    std::string etag;
    std::string retryAfter;
    std::string body;
    std::int64_t startNs = 0; // first byte of the request written (or connect started)
    std::int64_t doneNs = 0;
};

class Pool {
public:
    // Called with every answer or failure. For an answer, may return the
    // owner's next request, sent on the same connection when it stays open.
    using Done = std::function<std::optional<std::string>(int owner, Result &&r)>;
    using Sent = std::function<void(int owner, std::int64_t ns)>;

    Pool(std::uint16_t port, int maxConns) : m_max(maxConns)
    {
        m_addr.sin_family = AF_INET;
        m_addr.sin_port = htons(port);
        m_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        m_epfd = epoll_create1(EPOLL_CLOEXEC);
        m_conns.resize(std::size_t(maxConns));
        for (int i = maxConns - 1; i >= 0; --i)
            m_free.push_back(i);
    }
    ~Pool()
    {
        for (auto &c : m_conns)
            if (c.fd >= 0)
                ::close(c.fd);
        ::close(m_epfd);
    }
    Pool(const Pool &) = delete;
    Pool &operator=(const Pool &) = delete;

    Done done;
    Sent sent;
    bool keepBody = false;
    std::int64_t connectTimeoutNs = 15'000'000'000LL;
    std::int64_t requestTimeoutNs = 30'000'000'000LL;

    // Statistics.
    int open = 0;
    int peakOpen = 0;
    std::size_t peakQueued = 0;
    std::uint64_t connects = 0;
    std::uint64_t retries = 0;
    std::uint64_t queueExpired = 0;

    void submit(int owner, std::string request) { enqueue(owner, std::move(request), false, false); }
    std::size_t queued() const { return m_queue.size(); }
    bool idle() const { return m_queue.empty() && m_busy == 0 && m_deferred.empty(); }

    // Drops every connection and request (between runs).
    void reset()
    {
        for (std::size_t i = 0; i < m_conns.size(); ++i)
            if (m_conns[i].fd >= 0)
                closeConn(int(i));
        m_queue.clear();
        m_deferred.clear();
        m_idle.clear();
        for (auto &c : m_conns)
            c.inIdle = false;
        m_timeouts = {};
        m_busy = 0;
    }

    std::int64_t nextDeadlineNs() const
    {
        std::int64_t next = m_timeouts.empty() ? INT64_MAX : m_timeouts.top().deadline;
        if (!m_queue.empty())
            next = std::min(next, m_queue.front().sinceNs + connectTimeoutNs);
        return next;
    }

    // One epoll_wait (at most until `untilNs`), then timeouts and deferred failures.
    void poll(std::int64_t untilNs)
    {
        std::int64_t now = monoNs();
        std::int64_t wait = std::max<std::int64_t>(0, std::min(untilNs, nextDeadlineNs()) - now);
        wait = std::min<std::int64_t>(wait, 1'000'000'000LL);
        timespec ts{time_t(wait / 1'000'000'000LL), long(wait % 1'000'000'000LL)};
        epoll_event events[256];
        const int n = m_deferred.empty() ? epoll_pwait2(m_epfd, events, 256, &ts, nullptr)
                                         : epoll_wait(m_epfd, events, 256, 0);
        for (int i = 0; i < n; ++i) {
            const auto idx = int(events[i].data.u64 & 0xffffffffu);
            const auto gen = std::uint32_t(events[i].data.u64 >> 32);
            Conn &c = m_conns[std::size_t(idx)];
            if (c.fd < 0 || c.gen != gen)
                continue;
            const auto ev = events[i].events;
            if (c.st == St::Connecting) {
                if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    connected(idx);
                continue;
            }
            if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
                readable(idx);
            if (c.fd >= 0 && c.gen == gen && (ev & EPOLLOUT) && c.st == St::Busy)
                trySend(idx);
        }
        now = monoNs();
        // Polls that found no free connection for as long as a device waits
        // for its connection to be accepted fail like a connect timeout
        // (a real device has a socket of its own: it would not queue here).
        while (!m_queue.empty() && m_queue.front().sinceNs + connectTimeoutNs <= now) {
            Result r;
            r.fail = Fail::Queued;
            r.startNs = m_queue.front().sinceNs;
            r.doneNs = now;
            m_deferred.emplace_back(m_queue.front().owner, std::move(r));
            m_queue.pop_front();
            ++queueExpired;
        }
        while (!m_timeouts.empty() && m_timeouts.top().deadline <= now) {
            const Deadline d = m_timeouts.top();
            m_timeouts.pop();
            Conn &c = m_conns[std::size_t(d.idx)];
            if (c.fd >= 0 && c.serial == d.serial && (c.st == St::Busy || c.st == St::Connecting))
                fail(d.idx, c.st == St::Connecting ? Fail::ConnectTimeout : Fail::Timeout);
        }
        if (!m_deferred.empty()) {
            auto deferred = std::move(m_deferred);
            m_deferred.clear();
            for (auto &[owner, r] : deferred)
                (void)done(owner, std::move(r));
        }
    }

    // Runs until every request is answered (setup; not the herd loop).
    bool drain(double timeoutS)
    {
        const std::int64_t end = monoNs() + std::int64_t(timeoutS * 1e9);
        while (!idle()) {
            if (monoNs() > end)
                return false;
            poll(monoNs() + 100'000'000LL);
        }
        return true;
    }

private:
    enum class St { Free, Connecting, Idle, Busy };
    struct Conn {
        int fd = -1;
        std::uint32_t gen = 0;
        St st = St::Free;
        bool reused = false; // answered a request before
        bool inIdle = false;
        int owner = -1;
        std::string req;
        bool retried = false;
        std::size_t outOff = 0;
        bool wantOut = false;
        std::string in;
        bool gotAny = false;
        std::uint64_t serial = 0;
        std::int64_t startNs = 0;
    };
    struct Waiting {
        int owner;
        std::string req;
        bool retried;
        std::int64_t sinceNs; // queued since: a device that cannot connect gives up after its connect timeout
    };
    struct Deadline {
        std::int64_t deadline;
        int idx;
        std::uint64_t serial;
        bool operator>(const Deadline &o) const { return deadline > o.deadline; }
    };

    sockaddr_in m_addr{};
    int m_epfd = -1;
    int m_max;
    std::vector<Conn> m_conns;
    std::vector<int> m_free;
    std::vector<int> m_idle;
    std::deque<Waiting> m_queue;
    std::vector<std::pair<int, Result>> m_deferred;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> m_timeouts;
    std::uint64_t m_serial = 0;
    int m_busy = 0; // connections Connecting or Busy

    void enqueue(int owner, std::string req, bool retried, bool front)
    {
        if (int idx = popIdle(); idx >= 0) {
            assign(idx, owner, std::move(req), retried);
            return;
        }
        if (open < m_max && m_queue.empty()) {
            openConn(owner, std::move(req), retried);
            return;
        }
        if (front)
            m_queue.push_front({owner, std::move(req), retried, monoNs()});
        else
            m_queue.push_back({owner, std::move(req), retried, monoNs()});
        pump();
        peakQueued = std::max(peakQueued, m_queue.size());
    }

    int popIdle()
    {
        while (!m_idle.empty()) {
            const int idx = m_idle.back();
            m_idle.pop_back();
            Conn &c = m_conns[std::size_t(idx)];
            c.inIdle = false;
            if (c.fd >= 0 && c.st == St::Idle)
                return idx;
        }
        return -1;
    }

    void pump()
    {
        while (!m_queue.empty()) {
            int idx = popIdle();
            if (idx < 0 && open >= m_max)
                return;
            Waiting w = std::move(m_queue.front());
            m_queue.pop_front();
            if (idx >= 0)
                assign(idx, w.owner, std::move(w.req), w.retried);
            else
                openConn(w.owner, std::move(w.req), w.retried);
        }
    }

    void arm(int idx, std::int64_t timeoutNs)
    {
        Conn &c = m_conns[std::size_t(idx)];
        c.serial = ++m_serial;
        m_timeouts.push({monoNs() + timeoutNs, idx, c.serial});
    }

    void setEvents(int idx, bool out)
    {
        Conn &c = m_conns[std::size_t(idx)];
        if (c.wantOut == out)
            return;
        c.wantOut = out;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u);
        ev.data.u64 = std::uint64_t(std::uint32_t(idx)) | (std::uint64_t(c.gen) << 32);
        epoll_ctl(m_epfd, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void openConn(int owner, std::string req, bool retried)
    {
        const int idx = m_free.back();
        m_free.pop_back();
        Conn &c = m_conns[std::size_t(idx)];
        const std::uint32_t gen = c.gen + 1;
        c = Conn{};
        c.gen = gen;
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ++open;
        ++connects;
        peakOpen = std::max(peakOpen, open);
        c.owner = owner;
        c.req = std::move(req);
        c.retried = retried;
        c.startNs = monoNs();
        ++m_busy;
        if (c.fd < 0) { // out of descriptors: a failed attempt
            --open;
            --m_busy;
            c.st = St::Free;
            m_free.push_back(idx);
            Result r;
            r.fail = Fail::Refused;
            r.startNs = r.doneNs = monoNs();
            m_deferred.emplace_back(owner, std::move(r));
            return;
        }
        c.st = St::Connecting;
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        ev.data.u64 = std::uint64_t(std::uint32_t(idx)) | (std::uint64_t(c.gen) << 32);
        c.wantOut = true;
        epoll_ctl(m_epfd, EPOLL_CTL_ADD, c.fd, &ev);
        const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr *>(&m_addr), sizeof m_addr);
        if (rc == 0) {
            c.st = St::Busy;
            arm(idx, requestTimeoutNs);
            trySend(idx);
            return;
        }
        if (errno != EINPROGRESS) {
            fail(idx, errno == ECONNREFUSED ? Fail::Refused : Fail::Reset);
            return;
        }
        arm(idx, connectTimeoutNs);
    }

    void connected(int idx)
    {
        Conn &c = m_conns[std::size_t(idx)];
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            fail(idx, err == ECONNREFUSED ? Fail::Refused : Fail::Reset);
            return;
        }
        c.st = St::Busy;
        arm(idx, requestTimeoutNs);
        trySend(idx);
    }

    void assign(int idx, int owner, std::string req, bool retried)
    {
        Conn &c = m_conns[std::size_t(idx)];
        c.owner = owner;
        c.req = std::move(req);
        c.retried = retried;
        c.outOff = 0;
        c.in.clear();
        c.gotAny = false;
        c.st = St::Busy;
        c.startNs = monoNs();
        ++m_busy;
        arm(idx, requestTimeoutNs);
        trySend(idx);
    }

    void trySend(int idx)
    {
        Conn &c = m_conns[std::size_t(idx)];
        if (c.outOff == 0 && sent)
            sent(c.owner, monoNs());
        while (c.outOff < c.req.size()) {
            const ssize_t n = ::send(c.fd, c.req.data() + c.outOff, c.req.size() - c.outOff, MSG_NOSIGNAL);
            if (n > 0) {
                c.outOff += std::size_t(n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                setEvents(idx, true);
                return;
            }
            if (n < 0 && errno == EINTR)
                continue;
            fail(idx, Fail::Reset);
            return;
        }
        setEvents(idx, false);
    }

    void readable(int idx)
    {
        Conn &c = m_conns[std::size_t(idx)];
        char buf[65536];
        bool eof = false, error = false;
        for (;;) {
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                if (c.st == St::Busy) {
                    c.in.append(buf, std::size_t(n));
                    c.gotAny = true;
                }
                if (std::size_t(n) < sizeof buf)
                    break;
                continue;
            }
            if (n == 0) {
                eof = true;
                break;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            error = true;
            break;
        }
        if (c.st == St::Idle) {
            // The server closed an idle keep-alive connection (its idle
            // timeout, or it died).
            if (eof || error)
                closeConn(idx);
            return;
        }
        if (c.st != St::Busy)
            return;
        Result r;
        bool closeAfter = false;
        const int state = parse(c, r, closeAfter, eof);
        if (state > 0) {
            complete(idx, std::move(r), closeAfter || eof || error);
            return;
        }
        if (state < 0) {
            fail(idx, Fail::Protocol);
            return;
        }
        if (eof)
            fail(idx, Fail::Eof);
        else if (error)
            fail(idx, Fail::Reset);
    }

    static std::string lower(std::string s)
    {
        for (char &ch : s)
            ch = char(std::tolower(static_cast<unsigned char>(ch)));
        return s;
    }

    // 1: a whole answer in `r`; 0: not yet; -1: malformed.
    int parse(Conn &c, Result &r, bool &closeAfter, bool eof)
    {
        const auto he = c.in.find("\r\n\r\n");
        if (he == std::string::npos)
            return c.in.size() > 65536 ? -1 : 0;
        if (c.in.compare(0, 5, "HTTP/") != 0)
            return -1;
        const auto sp = c.in.find(' ');
        if (sp == std::string::npos || sp > he)
            return -1;
        r.status = std::atoi(c.in.c_str() + sp + 1);
        long long length = -1;
        bool chunked = false;
        std::size_t pos = c.in.find("\r\n") + 2;
        while (pos < he) {
            const auto eol = c.in.find("\r\n", pos);
            const auto colon = c.in.find(':', pos);
            if (colon != std::string::npos && colon < eol) {
                const std::string name = lower(c.in.substr(pos, colon - pos));
                std::size_t v = colon + 1;
                while (v < eol && c.in[v] == ' ')
                    ++v;
                const std::string value = c.in.substr(v, eol - v);
                if (name == "content-length")
                    length = std::atoll(value.c_str());
                else if (name == "transfer-encoding")
                    chunked = lower(value).find("chunked") != std::string::npos;
                else if (name == "connection")
                    closeAfter = lower(value).find("close") != std::string::npos;
                else if (name == "etag")
                    r.etag = value;
                else if (name == "retry-after")
                    r.retryAfter = value;
            }
            pos = eol + 2;
        }
        const std::size_t bodyStart = he + 4;
        if (r.status / 100 == 1 || r.status == 204 || r.status == 304)
            return 1;
        if (chunked) {
            std::size_t p = bodyStart;
            std::string body;
            for (;;) {
                const auto eol = c.in.find("\r\n", p);
                if (eol == std::string::npos)
                    return 0;
                const unsigned long size = std::strtoul(c.in.c_str() + p, nullptr, 16);
                p = eol + 2;
                if (size == 0) {
                    if (c.in.find("\r\n", p) == std::string::npos)
                        return 0;
                    break;
                }
                if (c.in.size() < p + size + 2)
                    return 0;
                if (keepBody)
                    body.append(c.in, p, size);
                p += size + 2;
            }
            r.body = std::move(body);
            return 1;
        }
        if (length >= 0) {
            if (c.in.size() < bodyStart + std::size_t(length))
                return 0;
            if (keepBody)
                r.body = c.in.substr(bodyStart, std::size_t(length));
            return 1;
        }
        if (!eof)
            return 0;
        if (keepBody)
            r.body = c.in.substr(bodyStart);
        closeAfter = true;
        return 1;
    }

    void complete(int idx, Result &&r, bool closeAfter)
    {
        Conn &c = m_conns[std::size_t(idx)];
        const int owner = c.owner;
        r.startNs = c.startNs;
        r.doneNs = monoNs();
        c.reused = true;
        c.owner = -1;
        c.st = St::Idle;
        c.serial = ++m_serial; // disarms the timeout
        --m_busy;
        if (closeAfter)
            closeConn(idx);
        auto next = done(owner, std::move(r));
        if (next) {
            if (c.fd >= 0 && c.st == St::Idle)
                assign(idx, owner, std::move(*next), false);
            else
                enqueue(owner, std::move(*next), false, true);
            return;
        }
        if (c.fd >= 0 && c.st == St::Idle)
            release(idx);
        pump();
    }

    void release(int idx)
    {
        Conn &c = m_conns[std::size_t(idx)];
        if (!m_queue.empty()) {
            Waiting w = std::move(m_queue.front());
            m_queue.pop_front();
            assign(idx, w.owner, std::move(w.req), w.retried);
            return;
        }
        if (!c.inIdle) {
            c.inIdle = true;
            m_idle.push_back(idx);
        }
    }

    void closeConn(int idx)
    {
        Conn &c = m_conns[std::size_t(idx)];
        if (c.fd < 0)
            return;
        if (c.st == St::Busy || c.st == St::Connecting)
            --m_busy;
        ::close(c.fd);
        c.fd = -1;
        c.st = St::Free;
        c.serial = ++m_serial;
        --open;
        m_free.push_back(idx);
    }

    void fail(int idx, Fail f)
    {
        Conn &c = m_conns[std::size_t(idx)];
        const int owner = c.owner;
        std::string req = std::move(c.req);
        const bool canRetry = c.reused && !c.gotAny && !c.retried && (f == Fail::Eof || f == Fail::Reset);
        const std::int64_t start = c.startNs;
        closeConn(idx);
        if (owner >= 0) {
            if (canRetry) {
                ++retries;
                enqueue(owner, std::move(req), true, true);
            } else {
                Result r;
                r.fail = f;
                r.startNs = start;
                r.doneNs = monoNs();
                m_deferred.emplace_back(owner, std::move(r));
            }
        }
        pump();
    }
};


inline std::string httpRequest(const std::string &method, const std::string &path, const std::string &token,
                               const std::string &body, const std::string &extra = {})
{
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty())
        r += "Authorization: Bearer " + token + "\r\n";
    r += extra;
    if (!body.empty() || method == "POST" || method == "PUT")
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n";
    r += body;
    return r;
}

// One request on a fresh pool of one connection, to its end (setup steps).
inline Result oneRequest(std::uint16_t port, const std::string &request, double timeoutS = 30)
{
    Pool pool(port, 1);
    pool.keepBody = true;
    pool.requestTimeoutNs = std::int64_t(timeoutS * 1e9);
    Result out;
    pool.done = [&](int, Result &&r) -> std::optional<std::string> {
        out = std::move(r);
        return std::nullopt;
    };
    pool.submit(0, request);
    pool.drain(timeoutS + 1);
    return out;
}

} // namespace stoa::bench
