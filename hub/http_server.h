// hub/http_server.h — the hub's HTTP layer: libmicrohttpd underneath, a
// request/response interface above, answers from any thread.
//
// Job: accept connections, read a request's headers, ask the handler how
// much body it may carry (or answer at once), read at most that much, hand
// the whole request over, and send whatever the handler answers — now, or
// later from another thread (the ingest queue answers once its batch is
// committed; meanwhile the connection is suspended and costs no thread).
// Invariants:
//  - a body is never buffered past the limit the handler gave for it: a
//    Content-Length over the limit is answered 413 before any byte of the
//    body is read; a chunked body past the limit is dropped as it comes
//    and answered 413 when it ends, or the connection is cut when it goes
//    on for more than max(limit, 1 MiB) past it (an endless body);
//  - past `softConnectionLimit` open connections, new requests are answered
//    503 + Retry-After + close without reaching the handler; the hard limit
//    (libmicrohttpd's) is above it so that answer can still be sent; a GET
//    of a path in `neverShed` (the hub's /healthz) is never shed: a load
//    balancer that read "busy" as "down" would take a shedding replica out
//    and turn its load over to the others (tests/hub/tst_spike.cpp);
//  - a client slower than `idleTimeoutS` between bytes is disconnected
//    (slowloris), and per-connection memory is capped by libmicrohttpd;
//  - every Reply is answered exactly once: a Reply dropped unanswered sends
//    500, so a connection is never left suspended for good;
//  - stop() answers nothing new, waits for the handlers running, and
//    returns once every connection is closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace stoa::hub {

struct HttpRequest {
    std::string method;   // "GET", "POST", …
    std::string path;     // decoded by libmicrohttpd, without the query
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers; // names lowercased
    std::string body;
    std::string remote;   // client address, for logs
    // Set by the handler's admit() (who the request was admitted as),
    // handed back with the request to handle().
    std::shared_ptr<const void> context;
    // The handler's own state for this request's connection (a keep-alive
    // connection's requests come one after the other), kept until the
    // connection closes; valid during admit() only, null elsewhere.
    std::shared_ptr<void> *connectionState = nullptr;

    // Empty when absent; `name` in lowercase.
    std::string_view header(const std::string &name) const;
};

struct HttpResponse {
    int status = 200;
    std::string contentType = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // A file body instead of `body` (blobs, site documents): sent with
    // sendfile from `fd`, which the response then owns.
    int fd = -1;
    std::uint64_t fileOffset = 0;
    std::uint64_t fileLength = 0;
    bool close = false; // ask the client to close the connection after

    static HttpResponse text(int status, std::string body);
    static HttpResponse json(int status, std::string body);
};

// The way back for one request; movable, answer once from any thread.
class Reply {
public:
    struct State;
    explicit Reply(std::shared_ptr<State> state);
    Reply(Reply &&) noexcept;
    Reply &operator=(Reply &&) noexcept;
    Reply(const Reply &) = delete;
    Reply &operator=(const Reply &) = delete;
    ~Reply(); // unanswered: 500

    void send(HttpResponse response);

private:
    std::shared_ptr<State> state_;
};

class HttpHandler {
public:
    virtual ~HttpHandler() = default;
    // Headers are in, the body is not: how many body bytes this request may
    // carry (0: none), or an answer sent at once without reading the body.
    virtual std::variant<std::size_t, HttpResponse> admit(HttpRequest &request) = 0;
    // The whole request; answer through `reply`, now or later.
    virtual void handle(HttpRequest request, Reply reply) = 0;
    // An answer this layer gave on its own (503 past the soft connection
    // limit, 413 for a body over the limit), for metrics.
    virtual void refused(const HttpRequest &request, int status) = 0;
};

struct HttpServerOptions {
    std::string address = "127.0.0.1"; // IPv4 or IPv6 literal
    std::uint16_t port = 0;            // 0: a free one (port() tells which)
    unsigned threads = 2;              // libmicrohttpd's thread pool
    unsigned connectionLimit = 4096;   // hard: libmicrohttpd refuses beyond
    unsigned softConnectionLimit = 0;  // 503 beyond; 0: 90 % of the hard limit
    unsigned idleTimeoutS = 30;        // slow clients are cut after this
    // Per connection, headers included; libmicrohttpd keeps a used
    // connection's pool resident, so this times the connection limit bounds
    // the HTTP layer's memory (16 KiB: 8,000 connections in 128 MiB).
    std::size_t connectionMemory = 16 * 1024;
    int retryAfterS = 5;               // in 503s sent by this layer
    // GETs of these paths pass the soft limit (cheap answers that must
    // always come: the health check).
    std::vector<std::string> neverShed;
    // TLS: PEM certificate chain and key; both empty: plain HTTP.
    std::string tlsCertPem;
    std::string tlsKeyPem;
};

struct HttpServerStats {
    std::uint64_t openConnections = 0;
    std::uint64_t suspended = 0;        // requests waiting for their answer
    std::uint64_t shedConnections = 0;  // answered 503 by the soft limit
};

class HttpServer {
public:
    HttpServer(HttpHandler &handler, HttpServerOptions options);
    ~HttpServer(); // stop()
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    // Binds and starts serving; the message says why not.
    std::optional<std::string> start();
    // A new certificate chain and key (SIGHUP): checked first, then new
    // connections get them while the open ones finish with the old pair.
    // On any failure the previous pair keeps serving and the message says why.
    std::optional<std::string> reloadTls(std::string certPem, std::string keyPem);
    // Graceful stop, in three steps: quiesce(): every request from now on
    // is answered 503 + Retry-After and its connection closed; (the owner
    // answers what it holds); waitIdle(): until every dispatched request's
    // answer went out in full, or the timeout; stop() closes what is left.
    void quiesce();
    bool waitIdle(std::chrono::milliseconds timeout);
    void stop();
    std::uint16_t port() const;
    HttpServerStats stats() const;

    struct Impl;

private:
    std::unique_ptr<Impl> d;
};

} // namespace stoa::hub
