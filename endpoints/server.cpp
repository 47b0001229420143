// endpoints/server.cpp — see server.h.
//
// One thread, one poll() loop. Each connection moves Reading → Writing →
// Lingering → closed, each state with a deadline on the monotonic clock; the
// poll timeout is the nearest deadline, so an idle server sleeps and a slow
// client costs nothing but its slot. A self-pipe wakes the loop for stop()
// and when the worker thread has an answer: a request for an OnWorker route
// parks its connection in Waiting (not polled, no deadline) and becomes a Job
// of the worker's queue; the worker's Done comes back through `finished` and
// the loop writes it like any other answer.
#include "endpoints/server.h"

#include "endpoints/exposition.h"
#include "endpoints/liveness.h"
#include "endpoints/logging.h"
#include "endpoints/metrics.h"

#include <QStringList>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace stoa::endpoints {

using Clock = std::chrono::steady_clock;

namespace {

std::string errnoText(const std::string &what, int err)
{
    return what + ": " + std::strerror(err);
}

void closeFd(int &fd)
{
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

// Sent, best effort, to connections over the limit.
constexpr std::string_view kBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                                   "charset=utf-8\r\nContent-Length: 31\r\nConnection: close\r\n"
                                   "Retry-After: 1\r\n\r\n503 Service Unavailable: busy\r\n";
static_assert(std::string_view("503 Service Unavailable: busy\r\n").size() == 31);

} // namespace

// ---- addresses --------------------------------------------------------------

std::string ListenAddress::toString() const
{
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> parseListenAddress(std::string_view text)
{
    const std::string quoted = "listen address \"" + std::string(text) + "\"";
    ListenAddress a;
    std::string_view host, port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return fail(ErrorCode::BadAddress, quoted + ": expected [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        a.ipv6 = true;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return fail(ErrorCode::BadAddress, quoted + ": expected ADDR:PORT, e.g. 127.0.0.1:9100");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return fail(ErrorCode::BadAddress, quoted + ": an IPv6 address needs brackets: [ADDR]:PORT");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
        return fail(ErrorCode::BadAddress, quoted + ": the port must be a number 0..65535");
    a.port = std::uint16_t(value);
    a.host = host == "localhost" && !a.ipv6 ? std::string("127.0.0.1") : std::string(host);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(a.ipv6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1)
        return fail(ErrorCode::BadAddress, quoted + (a.ipv6 ? ": not a numeric IPv6 address"
                                                            : ": not a numeric IPv4 address"));
    return a;
}

namespace {

// A handler's answer, or 500 when it threw (logged).
Response callHandler(const Handler &handler, const Request &request)
{
    try {
        return handler(request);
    } catch (const std::exception &e) {
        qCWarning(lcEndpoints) << "handler for" << request.path.c_str() << "threw:" << e.what();
    } catch (...) {
        qCWarning(lcEndpoints) << "handler for" << request.path.c_str() << "threw";
    }
    return http::errorResponse(500);
}

} // namespace

// ---- the server -------------------------------------------------------------

struct LocalServer::Impl {
    enum class State { Reading, Waiting, Writing, Lingering };

    struct Route {
        Handler handler;
        Runs runs = Runs::OnServerThread;
    };

    // A request for an OnWorker route, and its answer.
    struct Job {
        std::uint64_t connection = 0; // Connection::id
        Request request;
        const Handler *handler = nullptr; // into `routes`, fixed while running
    };
    struct Done {
        std::uint64_t connection = 0;
        Response response;
    };

    struct Connection {
        std::uint64_t id = 0; // never reused: a worker answer finds its connection by it
        bool headOnly = false;  // the request was HEAD (kept while Waiting)
        std::string pathLabel;  // the route, for the metrics (kept while Waiting)
        int fd = -1;
        State state = State::Reading;
        Clock::time_point deadline;
        std::string in;
        std::string out;
        std::size_t sent = 0;
    };

    explicit Impl(ServerLimits l, MetricsRegistry *registry) : limits(l)
    {
        if (!registry)
            return;
        auto requests = registry->counterFamily("stoa_endpoint_requests_total",
                                                "HTTP requests answered by the local endpoint server, "
                                                "by route and status code.",
                                                {"path", "code"});
        auto refused = registry->counter("stoa_endpoint_connections_refused_total",
                                         "Connections refused because too many were open.");
        auto open = registry->gauge("stoa_endpoint_open_connections",
                                    "Connections the local endpoint server is serving now.");
        if (requests && refused && open) {
            requestsTotal = *requests;
            refusedTotal = *refused;
            openConnections = *open;
        } else {
            qCWarning(lcEndpoints) << "endpoint self-metrics not registered:"
                                   << (!requests ? requests.error().message
                                       : !refused ? refused.error().message
                                                  : open.error().message).c_str();
        }
    }

    void run();
    void acceptAll();
    void onReadable(Connection &c);
    void onWritable(Connection &c);
    void onDeadline(Connection &c);
    void respond(Connection &c, const Response &r, bool headOnly, std::string_view pathLabel);
    void dispatch(Connection &c, const Request &request);
    void finishWrite(Connection &c);
    void workerLoop();
    void takeFinished();
    void wake();

    const ServerLimits limits;
    std::map<std::string, Route, std::less<>> routes; // fixed while running

    CounterFamily requestsTotal;
    Counter refusedTotal;
    Gauge openConnections;

    int listenFd = -1;
    int wakeRead = -1, wakeWrite = -1;
    std::vector<Connection> connections; // server thread only
    std::uint64_t nextConnectionId = 1;  // server thread only
    Clock::time_point acceptPausedUntil{};

    // --- The worker. Guarded by workMutex: jobs, finished, waiting, workerStop.
    std::thread worker;
    std::mutex workMutex;
    std::condition_variable workReady;
    std::deque<Job> jobs;
    std::vector<Done> finished;
    int waiting = 0;         // jobs queued or running (the maxWaiting bound)
    bool workerStop = false;

    std::thread thread;
    std::atomic<bool> stopping{false};
    std::atomic<bool> running{false};
    std::atomic<std::uint16_t> boundPort{0};
    mutable std::mutex addressMutex;
    std::string boundAddress;
};

void LocalServer::Impl::dispatch(Connection &c, const Request &request)
{
    const auto it = routes.find(request.path);
    const std::string pathLabel = it == routes.end() ? "other" : it->first;
    const bool headOnly = request.method == "HEAD";
    if (request.method != "GET" && !headOnly) {
        auto r = http::errorResponse(405, "GET and HEAD only");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return respond(c, r, false, pathLabel);
    }
    if (it == routes.end())
        return respond(c, http::errorResponse(404), headOnly, pathLabel);
    if (it->second.runs == Runs::OnServerThread)
        return respond(c, callHandler(it->second.handler, request), headOnly, pathLabel);
    {
        std::lock_guard lock(workMutex);
        if (waiting < limits.maxWaiting) {
            ++waiting;
            jobs.push_back({c.id, request, &it->second.handler});
            workReady.notify_one();
            c.state = State::Waiting;
            c.deadline = Clock::time_point::max(); // the handler bounds its own wait
            c.headOnly = headOnly;
            c.pathLabel = pathLabel;
            c.in.clear();
            return;
        }
    }
    auto busy = http::errorResponse(503, "busy: earlier requests for this page are still waiting");
    busy.headers.emplace_back("Retry-After", "1");
    respond(c, busy, headOnly, pathLabel);
}

void LocalServer::Impl::wake()
{
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(wakeWrite, &byte, 1);
}

void LocalServer::Impl::workerLoop()
{
    std::unique_lock lock(workMutex);
    for (;;) {
        workReady.wait(lock, [&] { return workerStop || !jobs.empty(); });
        if (workerStop)
            return;
        Job job = std::move(jobs.front());
        jobs.pop_front();
        lock.unlock();
        Response r = callHandler(*job.handler, job.request);
        lock.lock();
        --waiting;
        finished.push_back({job.connection, std::move(r)});
        wake();
    }
}

void LocalServer::Impl::takeFinished()
{
    std::vector<Done> done;
    {
        std::lock_guard lock(workMutex);
        done.swap(finished);
    }
    for (auto &d : done) {
        const auto c = std::find_if(connections.begin(), connections.end(),
                                    [&](const Connection &x) { return x.id == d.connection; });
        if (c != connections.end() && c->state == State::Waiting && c->fd >= 0)
            respond(*c, d.response, c->headOnly, c->pathLabel);
    }
}

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

// ---- LocalServer ------------------------------------------------------------

LocalServer::LocalServer(ServerLimits limits, MetricsRegistry *selfMetrics)
    : d(std::make_unique<Impl>(limits, selfMetrics))
{
}

LocalServer::~LocalServer()
{
    stop();
}

bool LocalServer::route(std::string path, Handler handler, Runs runs)
{
    if (d->running.load()) {
        qCWarning(lcEndpoints) << "route" << path.c_str() << "refused: the server is running";
        return false;
    }
    if (!path.starts_with('/') || path.find_first_of("?# \r\n") != std::string::npos || !handler) {
        qCWarning(lcEndpoints) << "route" << path.c_str() << "refused: not a plain path";
        return false;
    }
    d->routes[std::move(path)] = Impl::Route{std::move(handler), runs};
    return true;
}

bool LocalServer::routeHealth(const Liveness &liveness, std::string path)
{
    return route(std::move(path), [&liveness](const Request &) {
        Response r;
        if (liveness.isLive()) {
            r.body = "ok\n";
        } else {
            r.status = 503;
            r.body = liveness.describe() + "\n";
        }
        return r;
    });
}

bool LocalServer::routeMetrics(MetricsRegistry &registry, std::string path)
{
    return route(std::move(path), [&registry](const Request &) {
        Response r;
        r.contentType = std::string(exposition::kContentType);
        r.body = registry.render();
        return r;
    });
}

Result<void> LocalServer::start(std::string_view listenAddress)
{
    if (d->running.load())
        return fail(ErrorCode::AlreadyRunning, "the endpoint server is already running on "
                                                   + address());
    auto parsed = parseListenAddress(listenAddress);
    if (!parsed)
        return std::unexpected(parsed.error());
    auto a = *parsed;

    sockaddr_storage ss{};
    socklen_t len = 0;
    if (a.ipv6) {
        auto *sa = reinterpret_cast<sockaddr_in6 *>(&ss);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(a.port);
        inet_pton(AF_INET6, a.host.c_str(), &sa->sin6_addr);
        len = sizeof *sa;
    } else {
        auto *sa = reinterpret_cast<sockaddr_in *>(&ss);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(a.port);
        inet_pton(AF_INET, a.host.c_str(), &sa->sin_addr);
        len = sizeof *sa;
    }

    int fd = ::socket(a.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(ErrorCode::Bind, errnoText("socket for " + a.toString(), errno));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0) {
        const int err = errno;
        ::close(fd);
        return fail(ErrorCode::Bind, errnoText("bind " + a.toString(), err));
    }
    if (::listen(fd, d->limits.listenBacklog) != 0) {
        const int err = errno;
        ::close(fd);
        return fail(ErrorCode::Bind, errnoText("listen on " + a.toString(), err));
    }
    sockaddr_storage bound{};
    socklen_t boundLen = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &boundLen) == 0)
        a.port = ntohs(a.ipv6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                              : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);

    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) {
        const int err = errno;
        ::close(fd);
        return fail(ErrorCode::Io, errnoText("pipe", err));
    }
    d->listenFd = fd;
    d->wakeRead = pipeFds[0];
    d->wakeWrite = pipeFds[1];
    d->stopping.store(false);
    d->boundPort.store(a.port);
    {
        std::lock_guard lock(d->addressMutex);
        d->boundAddress = a.toString();
    }
    d->running.store(true);
    {
        std::lock_guard lock(d->workMutex);
        d->jobs.clear();
        d->finished.clear();
        d->waiting = 0;
        d->workerStop = false;
    }
    if (std::any_of(d->routes.begin(), d->routes.end(), [](const auto &r) { return r.second.runs == Runs::OnWorker; }))
        d->worker = std::thread([impl = d.get()] { impl->workerLoop(); });
    d->thread = std::thread([impl = d.get()] { impl->run(); });

    QStringList paths;
    for (const auto &[p, h] : d->routes)
        paths << QString::fromStdString(p);
    qCInfo(lcEndpoints).noquote() << "serving http://" + QString::fromStdString(a.toString())
                                  << "paths:" << paths.join(QLatin1Char(' '));
    return {};
}

void LocalServer::stop()
{
    if (!d->running.load())
        return;
    d->stopping.store(true);
    d->wake();
    if (d->thread.joinable())
        d->thread.join();
    {
        std::lock_guard lock(d->workMutex);
        d->workerStop = true;
        d->workReady.notify_all();
    }
    // After the handler it runs returns; before the pipe closes (it writes to it).
    if (d->worker.joinable())
        d->worker.join();
    closeFd(d->listenFd);
    closeFd(d->wakeRead);
    closeFd(d->wakeWrite);
    d->boundPort.store(0);
    {
        std::lock_guard lock(d->addressMutex);
        d->boundAddress.clear();
    }
    d->running.store(false);
    qCInfo(lcEndpoints) << "endpoint server stopped";
}

bool LocalServer::isRunning() const
{
    return d->running.load();
}

std::uint16_t LocalServer::port() const
{
    return d->boundPort.load();
}

std::string LocalServer::address() const
{
    std::lock_guard lock(d->addressMutex);
    return d->boundAddress;
}

} // namespace stoa::endpoints
