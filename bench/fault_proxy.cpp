// bench/fault_proxy.cpp — a TCP proxy on loopback that makes the network bad
// on purpose, for fleet_rehearsal (issue 18): the devices talk to the hub
// tier through it, as real screens talk through mobile and shop networks.
//
// Job: accept on --listen, connect each accepted connection to --to, and
// forward bytes both ways, each chunk held back by --latency-ms plus a
// uniform draw in [0, --jitter-ms]; with probability --drop per chunk, the
// connection is reset on both sides instead (SO_LINGER 0: the peer sees
// ECONNRESET), so a device loses a request before the hub saw it (chunk from
// the device) or loses the hub's answer after the hub acted on it (chunk
// from the hub): the second is the case that tests "acknowledged = stored"
// against retries.
// Invariants:
//  - per direction, bytes are delivered in order (a chunk is never due
//    before the one ahead of it), so latency never reorders a stream;
//  - a half-close is passed on once everything before it was delivered;
//  - one thread, epoll (level-triggered; a side whose EOF was read is not
//    watched for reading any more), no blocking call; counters printed every --report-s
//    seconds and at SIGTERM/SIGINT ("fault_proxy: ..." lines on stdout).
//
// Usage: fault_proxy --listen 127.0.0.1:PORT --to 127.0.0.1:PORT
//                    [--latency-ms 30] [--jitter-ms 20] [--drop 0.002] [--seed 1] [--report-s 10]
// PORT 0 for --listen: a free one; the line "fault_proxy: listening on
// 127.0.0.1:PORT" says which.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

std::int64_t nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

volatile std::sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

struct Chunk {
    std::int64_t due;
    std::string bytes; // empty: the half-close of the source
    bool eof = false;
};

// One direction of a pair: what was read from `from` and waits for `to`.
struct Flow {
    std::deque<Chunk> pending;
    std::size_t offset = 0; // of pending.front() already written
    std::int64_t lastDue = 0;
    bool readClosed = false;  // EOF read from the source
    bool writeClosed = false; // shutdown(SHUT_WR) done on the target
};

struct Pair {
    int fd[2] = {-1, -1}; // 0: the client, 1: the upstream
    bool connecting = true;
    Flow flow[2];          // flow[0]: client -> upstream; flow[1]: upstream -> client
    bool wantOut[2] = {false, false};
};

struct Options {
    sockaddr_in listen{};
    sockaddr_in to{};
    int latencyMs = 30;
    int jitterMs = 20;
    double drop = 0.002;
    unsigned seed = 1;
    int reportS = 10;
};

bool parseAddr(const char *s, sockaddr_in &a)
{
    const std::string v(s);
    const auto colon = v.rfind(':');
    if (colon == std::string::npos)
        return false;
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(std::atoi(v.c_str() + colon + 1)));
    return inet_pton(AF_INET, v.substr(0, colon).c_str(), &a.sin_addr) == 1;
}

class Proxy {
public:
    explicit Proxy(const Options &o) : m_o(o), m_rng(o.seed) {}

    int run()
    {
        m_ep = epoll_create1(EPOLL_CLOEXEC);
        m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(m_listen, reinterpret_cast<const sockaddr *>(&m_o.listen), sizeof m_o.listen) != 0 ||
            ::listen(m_listen, 4096) != 0) {
            std::fprintf(stderr, "fault_proxy: cannot listen: %s\n", std::strerror(errno));
            return 1;
        }
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        getsockname(m_listen, reinterpret_cast<sockaddr *>(&bound), &len);
        std::printf("fault_proxy: listening on 127.0.0.1:%u, to port %u, latency %d ms + [0, %d] ms, drop %.4f per chunk\n",
                    ntohs(bound.sin_port), ntohs(m_o.to.sin_port), m_o.latencyMs, m_o.jitterMs, m_o.drop);
        std::fflush(stdout);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = ~0ull;
        epoll_ctl(m_ep, EPOLL_CTL_ADD, m_listen, &ev);
        std::int64_t nextReport = nowMs() + m_o.reportS * 1000;
        while (!g_stop) {
            const std::int64_t now = nowMs();
            std::int64_t wake = nextReport;
            if (!m_timers.empty())
                wake = std::min(wake, m_timers.top().first);
            epoll_event events[256];
            const int n = epoll_wait(m_ep, events, 256, int(std::max<std::int64_t>(0, wake - now)));
            for (int i = 0; i < n; ++i) {
                if (events[i].data.u64 == ~0ull) {
                    acceptAll();
                    continue;
                }
                const std::uint64_t id = events[i].data.u64 >> 1;
                const int side = int(events[i].data.u64 & 1);
                auto it = m_pairs.find(id);
                if (it == m_pairs.end())
                    continue;
                event(id, it->second, side, events[i].events);
            }
            const std::int64_t t = nowMs();
            while (!m_timers.empty() && m_timers.top().first <= t) {
                const std::uint64_t id = m_timers.top().second;
                m_timers.pop();
                auto it = m_pairs.find(id);
                if (it != m_pairs.end())
                    flushAll(id, it->second);
            }
            if (t >= nextReport) {
                report("");
                nextReport = t + m_o.reportS * 1000;
            }
        }
        report(" (stopping)");
        return 0;
    }

private:
    const Options m_o;
    std::mt19937_64 m_rng;
    int m_ep = -1, m_listen = -1;
    std::uint64_t m_next = 1;
    std::map<std::uint64_t, Pair> m_pairs;
    std::priority_queue<std::pair<std::int64_t, std::uint64_t>, std::vector<std::pair<std::int64_t, std::uint64_t>>,
                        std::greater<>>
        m_timers;
    std::uint64_t m_accepted = 0, m_upstreamFailed = 0, m_dropped = 0, m_chunks = 0, m_bytes = 0;

    void report(const char *why)
    {
        std::printf("fault_proxy: accepted %llu, open %zu, upstream refused %llu, reset on purpose %llu, chunks %llu, "
                    "bytes %llu%s\n",
                    (unsigned long long)m_accepted, m_pairs.size(), (unsigned long long)m_upstreamFailed,
                    (unsigned long long)m_dropped, (unsigned long long)m_chunks, (unsigned long long)m_bytes, why);
        std::fflush(stdout);
    }

    void watch(std::uint64_t id, Pair &p, int side, bool add)
    {
        epoll_event ev{};
        // Once a side's EOF is read, its readability is no news: level-
        // triggered, it would wake the loop until the EOF is delivered.
        ev.events = (p.flow[side].readClosed ? 0u : EPOLLIN | EPOLLRDHUP) |
                    (p.wantOut[side] || (side == 1 && p.connecting) ? EPOLLOUT : 0u);
        ev.data.u64 = (id << 1) | std::uint64_t(side);
        epoll_ctl(m_ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, p.fd[side], &ev);
    }

    void acceptAll()
    {
        for (;;) {
            const int c = ::accept4(m_listen, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0)
                return;
            ++m_accepted;
            const int u = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (u < 0 || (::connect(u, reinterpret_cast<const sockaddr *>(&m_o.to), sizeof m_o.to) != 0 && errno != EINPROGRESS)) {
                ++m_upstreamFailed;
                reset(c);
                if (u >= 0)
                    ::close(u);
                continue;
            }
            const std::uint64_t id = m_next++;
            Pair &p = m_pairs[id];
            p.fd[0] = c;
            p.fd[1] = u;
            watch(id, p, 0, true);
            watch(id, p, 1, true);
        }
    }

    static void reset(int fd)
    {
        linger l{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd);
    }

    void destroy(std::uint64_t id, Pair &p, bool hard)
    {
        for (int s = 0; s < 2; ++s) {
            if (p.fd[s] < 0)
                continue;
            if (hard)
                reset(p.fd[s]);
            else
                ::close(p.fd[s]);
        }
        m_pairs.erase(id);
    }

    void event(std::uint64_t id, Pair &p, int side, std::uint32_t ev)
    {
        if (side == 1 && p.connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(p.fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
                ++m_upstreamFailed;
                destroy(id, p, true); // the device sees a reset, as from a dead backend behind a NAT
                return;
            }
            if (!(ev & EPOLLOUT))
                return;
            p.connecting = false;
            watch(id, p, 1, false);
            if (!flushAll(id, p))
                return;
        }
        if (p.flow[side].readClosed && (ev & (EPOLLHUP | EPOLLERR))) {
            // The peer is gone both ways: nothing more can reach it.
            destroy(id, p, false);
            return;
        }
        if (ev & EPOLLOUT) {
            if (!flushAll(id, p))
                return;
        }
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            readFrom(id, p, side);
    }

    // Reads what `side` sent and queues it for the other side.
    void readFrom(std::uint64_t id, Pair &p, int side)
    {
        Flow &f = p.flow[side];
        if (f.readClosed)
            return;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(p.fd[side], buf, sizeof buf, 0);
            if (n > 0) {
                if (std::uniform_real_distribution<double>(0, 1)(m_rng) < m_o.drop) {
                    ++m_dropped;
                    destroy(id, p, true);
                    return;
                }
                ++m_chunks;
                m_bytes += std::uint64_t(n);
                queue(id, f, std::string(buf, std::size_t(n)), false);
                continue;
            }
            if (n == 0) {
                f.readClosed = true;
                watch(id, p, side, false);
                queue(id, f, {}, true);
                break;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            destroy(id, p, true); // a reset from one side is passed on as a reset
            return;
        }
        if (p.flow[0].readClosed && p.flow[1].readClosed && p.flow[0].pending.empty() && p.flow[1].pending.empty())
            destroy(id, p, false);
    }

    void queue(std::uint64_t id, Flow &f, std::string bytes, bool eof)
    {
        const std::int64_t jitter =
            m_o.jitterMs > 0 ? std::uniform_int_distribution<std::int64_t>(0, m_o.jitterMs)(m_rng) : 0;
        const std::int64_t due = std::max(f.lastDue, nowMs() + m_o.latencyMs + jitter);
        f.lastDue = due;
        f.pending.push_back({due, std::move(bytes), eof});
        m_timers.push({due, id});
    }

    // Writes every due chunk of both flows; false when the pair is gone.
    bool flushAll(std::uint64_t id, Pair &p)
    {
        for (int dir = 0; dir < 2; ++dir) {
            const int target = 1 - dir;
            Flow &f = p.flow[dir];
            if (target == 1 && p.connecting)
                continue;
            const std::int64_t now = nowMs();
            bool blocked = false;
            while (!f.pending.empty() && f.pending.front().due <= now) {
                Chunk &c = f.pending.front();
                if (c.eof) {
                    if (!f.writeClosed)
                        ::shutdown(p.fd[target], SHUT_WR);
                    f.writeClosed = true;
                    f.pending.pop_front();
                    continue;
                }
                const ssize_t n = ::send(p.fd[target], c.bytes.data() + f.offset, c.bytes.size() - f.offset, MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    blocked = true;
                    break;
                }
                if (n < 0) {
                    destroy(id, p, true);
                    return false;
                }
                f.offset += std::size_t(n);
                if (f.offset == c.bytes.size()) {
                    f.offset = 0;
                    f.pending.pop_front();
                }
            }
            if (p.wantOut[target] != blocked) {
                p.wantOut[target] = blocked;
                watch(id, p, target, false);
            }
        }
        if (p.flow[0].readClosed && p.flow[1].readClosed && p.flow[0].pending.empty() && p.flow[1].pending.empty()) {
            destroy(id, p, false);
            return false;
        }
        return true;
    }
};

} // namespace

int main(int argc, char **argv)
{
    Options o;
    bool haveListen = false, haveTo = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (!v)
            break;
        if (a == "--listen")
            haveListen = parseAddr(v, o.listen);
        else if (a == "--to")
            haveTo = parseAddr(v, o.to);
        else if (a == "--latency-ms")
            o.latencyMs = std::atoi(v);
        else if (a == "--jitter-ms")
            o.jitterMs = std::atoi(v);
        else if (a == "--drop")
            o.drop = std::atof(v);
        else if (a == "--seed")
            o.seed = unsigned(std::atoi(v));
        else if (a == "--report-s")
            o.reportS = std::max(1, std::atoi(v));
        else
            break;
        ++i;
    }
    if (!haveListen || !haveTo) {
        std::fputs("usage: fault_proxy --listen 127.0.0.1:PORT --to 127.0.0.1:PORT [--latency-ms 30] [--jitter-ms 20] "
                   "[--drop 0.002] [--seed 1] [--report-s 10]\n",
                   stderr);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    return Proxy(o).run();
}
