// endpoints/server.h — LocalServer: the device-local plain-HTTP server of
// spec §8 (/healthz, /metrics, /status), on its own thread.
//
// Why its own thread: a busy or hung Qt main loop must not delay a health
// probe (that is what the probe is meant to detect), and a flood of requests
// must never run on the GUI thread and disturb frame pacing. The server
// thread runs one poll() loop over non-blocking sockets; nothing of it
// touches a Qt event loop.
//
// Use:
//   LocalServer server({}, &registry);          // registry: counts its own requests
//   server.routeHealth(liveness);                // GET /healthz
//   server.routeMetrics(registry);               // GET /metrics
//   server.route("/status", [&](const Request &) { return Response{...}; });
//   if (auto ok = server.start("127.0.0.1:9100"); !ok) ... ok.error().message
//   ... server.port() ...
//   server.stop();                               // or the destructor
//
// route*(), start() and stop() belong to the owning thread (not thread-safe
// against each other); port(), address() and isRunning() may be asked from
// any thread.
//
// Handlers run on the server thread, one at a time: they must be thread-safe
// with respect to the rest of the program and quick (they delay every other
// client). A handler that may wait (the player's /status waits up to 2 s for
// the GUI thread) is routed with Runs::OnWorker: it runs on the server's one
// worker thread, one such request at a time, while the poll loop goes on
// answering everything else, so /healthz never queues behind it (a health
// check must not time out because a page is slow). At most
// ServerLimits::maxWaiting such requests wait or run at once; beyond that a
// request for a worker route gets 503 + Retry-After at once, so a stuck
// handler cannot eat the connection slots /healthz needs.
// Routes are fixed before start(): route() while running is refused.
// The Liveness and MetricsRegistry given to the route helpers and to the
// constructor must outlive the server (or its stop()).
//
// Protocol (see http.h for the parsing rules): GET and HEAD only (405 with
// Allow otherwise); exact path match, query ignored, 404 for unknown paths;
// one request per connection (responses carry Connection: close).
//
// Hardening (ServerLimits): the head must arrive within headTimeout (a slow
// client is answered 408 and closed; it never holds the thread), be at most
// maxHeadBytes (413) and carry no body (413); at most maxConnections are open
// at once — beyond that a new connection gets a best-effort 503 and is closed
// at once; writes are non-blocking with partial writes resumed, bounded by
// writeTimeout; MSG_NOSIGNAL everywhere (no SIGPIPE); sockets are CLOEXEC.
// If accept() runs out of descriptors the listening socket is paused for
// 100 ms instead of spinning.
//
// Self-metrics, when constructed with a registry:
//   stoa_endpoint_requests_total{path,code}  every answer, path = the route or "other"
//   stoa_endpoint_connections_refused_total  connections over maxConnections
//   stoa_endpoint_open_connections           connections being served now
//
// Invariants: the poll loop never waits on a handler routed OnWorker; a
// connection waiting for its worker answer is not read, written or timed out
// (its handler bounds itself); stop() joins the worker after the handler it
// is running returns.
#pragma once

#include "endpoints/error.h"
#include "endpoints/http.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace stoa::endpoints {

class Liveness;
class MetricsRegistry;

using Handler = std::function<Response(const Request &)>;

// Where a route's handler runs (see the header comment).
enum class Runs {
    OnServerThread, // quick: answered inside the poll loop
    OnWorker,       // may wait: on the worker thread, the poll loop serving others meanwhile
};

struct ServerLimits {
    std::size_t maxHeadBytes = 8192;                    // request line + headers; larger → 413
    std::size_t maxBodyBytes = 0;                       // declared body larger → 413 (never read)
    std::chrono::milliseconds headTimeout{5000};        // whole head within this → else 408 + close
    std::chrono::milliseconds writeTimeout{5000};       // whole response sent within this → else close
    std::chrono::milliseconds lingerTimeout{500};       // after answering, unread input is drained this
                                                        // long so the client reads the answer, not a reset
    int maxConnections = 64;                            // open at once; beyond → 503 + close
    int maxWaiting = 4;                                 // OnWorker requests queued or running; beyond → 503
    int listenBacklog = 128;
};

// A parsed "ADDR:PORT": "127.0.0.1:9100", "0.0.0.0:0", "[::1]:9100",
// "[::]:9100", "localhost:9100" (= 127.0.0.1). Port 0 asks for a free port.
struct ListenAddress {
    std::string host; // numeric, without brackets
    std::uint16_t port = 0;
    bool ipv6 = false;

    std::string toString() const; // "127.0.0.1:9100" or "[::1]:9100"
};

Result<ListenAddress> parseListenAddress(std::string_view text);

class LocalServer {
public:
    // `selfMetrics` (optional) receives the server's own counters.
    explicit LocalServer(ServerLimits limits = {}, MetricsRegistry *selfMetrics = nullptr);
    ~LocalServer(); // stop()s
    LocalServer(const LocalServer &) = delete;
    LocalServer &operator=(const LocalServer &) = delete;

    // Exact-match route; `path` starts with '/'. Re-routing a path replaces
    // its handler. Refused (false, logged) while running or for a bad path.
    bool route(std::string path, Handler handler, Runs runs = Runs::OnServerThread);
    // 200 "ok\n" while live, else 503 with Liveness::describe() as the body.
    bool routeHealth(const Liveness &liveness, std::string path = "/healthz");
    // registry.render() with the 0.0.4 content type.
    bool routeMetrics(MetricsRegistry &registry, std::string path = "/metrics");

    // Binds and starts the server thread. The chosen address (with the real
    // port) is logged and available from address()/port().
    Result<void> start(std::string_view listenAddress);
    // Closes the listening socket and every connection and joins the thread;
    // returns within one poll round (milliseconds). Idempotent.
    void stop();

    bool isRunning() const;
    std::uint16_t port() const;  // 0 when not running
    std::string address() const; // e.g. "127.0.0.1:41234"; empty when not running

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace stoa::endpoints
