// endpoints/server.cpp — see server.h; the owner's side of LocalServer:
// routes, start() (bind, the self-pipe, the threads), stop(), the
// self-metrics and the accessors. The poll loop is server_connections.cpp,
// the handlers' dispatch and the worker server_dispatch.cpp, over
// server_impl.h (which also describes the design).
#include "endpoints/server_impl.h"

#include "endpoints/exposition.h"
#include "endpoints/liveness.h"
#include "endpoints/logging.h"

#include <QStringList>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace stoa::endpoints {

namespace {

std::string errnoText(const std::string &what, int err)
{
    return what + ": " + std::strerror(err);
}

} // namespace

LocalServer::Impl::Impl(ServerLimits l, MetricsRegistry *registry) : limits(l)
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
