// tests/sync/fault_server.h — a loopback HTTP/1.1 server that misbehaves on request.
//
// Job: stand in for "whatever serves the fleet" (spec §1) in the sync agent's
// tests: a static-file server like nginx (ETag, Last-Modified, 304, Range,
// 416, 404), configurable answers for POST/PUT, and faults a real network
// produces — error statuses with Retry-After, resets, truncated, overlong or
// corrupted bodies, captive portals, replaced documents, slow drips, hangs.
// Every request is logged so a test can assert what the client did and when.
//
// Invariants:
//  - The server runs on its own threads (one acceptor, one per connection,
//    poll() on non-blocking sockets); it never needs the test's event loop,
//    so the code under test may block the main thread in libcurl.
//  - All configuration and the log are guarded by one mutex: any method may
//    be called from any thread at any time, also while requests are served.
//  - The destructor wakes every thread (drips and hangs included), closes
//    every socket and joins; it never waits on a client.
//  - Faults are matched in the order they were added; the first one that
//    matches the request and has uses left is consumed (one use) and applied.
//    Requests no fault matches are served normally.
//  - A log entry is appended once the request has been read completely and
//    the answer chosen, before its body is sent: `status` is what the status
//    line says (0: none will be sent, the Hang fault).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace stoa::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

enum class FaultKind {
    Status,        // answer `status` with `headers` and `body` instead
    Reset,         // send headers and `afterBytes` of the body, then RST (SO_LINGER 0)
    Truncate,      // declare the full Content-Length, send `afterBytes`, then close (FIN)
    Overlong,      // append `extraBytes` after the real body; framing per `framing`
    FlipBytes,     // XOR 0xFF `count` body bytes from `offset`: same length, wrong bytes
    CaptivePortal, // 200 text/html login page, whatever was asked
    ReplaceBody,   // answer `status` (200) with `body` (the test's bytes) instead
    Drip,          // send the first `dripBytes` body bytes one per `interval`, then the rest
    Hang,          // read the request, never answer, hold the connection open
};
// Body faults (Reset, Truncate, Overlong, FlipBytes, Drip) act on the answer
// the server would have given (a file, a 206 range, a 404 page, a configured
// response); HEAD, 204 and 304 have no body, so only the headers go out.
// Reset/Truncate with afterBytes >= the body send all of it, then RST/FIN.
// Before a Reset the server waits (up to ~1 s) for the kernel to hand the
// promised bytes to the client, so the client really sees exactly K bytes.
// Drip with a large file and no `dripBytes` is "forever" for any test.

// How an Overlong body is framed.
enum class Framing {
    DeclaredLength, // Content-Length says the longer size (a lying server)
    CloseDelimited, // no Content-Length, body ends when the connection closes
    Chunked,        // Transfer-Encoding: chunked
};

// One fault: what to do and which requests it applies to. Build with the
// static constructors and refine with the chained setters, e.g.
//   Fault::statusCode(503).header("Retry-After", "120").onPath("/v1/manifest.json").times(3)
struct Fault {
    FaultKind kind = FaultKind::Status;

    // Matching. Empty path with prefix = true (the default) matches every path.
    std::string path;                  // compared with the request path (query stripped)
    bool prefix = true;                // true: path is a prefix; false: exact
    std::optional<std::string> method; // e.g. "GET"; nothing: any method
    int uses = -1;                     // uses left; -1: forever

    // Parameters (each kind reads the ones named in FaultKind's comments).
    int status = 500;
    Headers headers;        // extra response headers (Status, ReplaceBody, CaptivePortal)
    std::string body;       // Status: body (empty: a short text); ReplaceBody: the bytes
    std::string contentType = "text/plain";
    std::size_t afterBytes = 0;          // Reset, Truncate
    std::size_t extraBytes = 0;          // Overlong
    Framing framing = Framing::DeclaredLength;
    std::size_t offset = 0;              // FlipBytes (clamped to the body)
    std::size_t count = 1;               // FlipBytes
    std::chrono::milliseconds interval{1000}; // Drip
    std::optional<std::size_t> dripBytes;     // Drip; nothing: the whole body

    // `code` (500, 503, 404, 429...) with extra headers; empty text: a short default.
    static Fault statusCode(int code, Headers extra = {}, std::string text = {});
    // `code` (503, 429) with Retry-After: delta-seconds or an HTTP-date (httpDate()).
    static Fault retryAfter(int code, std::string value);
    static Fault reset(std::size_t afterBytes);
    static Fault truncate(std::size_t afterBytes);
    static Fault overlong(std::size_t extraBytes, Framing framing = Framing::DeclaredLength);
    static Fault flipBytes(std::size_t offset = 0, std::size_t count = 1);
    static Fault captivePortal();
    static Fault replaceBody(std::string bytes, std::string contentType = "application/json", int code = 200);
    static Fault drip(std::chrono::milliseconds interval = std::chrono::seconds(1),
                      std::optional<std::size_t> bytes = std::nullopt);
    static Fault hang();

    Fault &onPath(std::string exact) { path = std::move(exact); prefix = false; return *this; }
    Fault &onPrefix(std::string p) { path = std::move(p); prefix = true; return *this; }
    Fault &onMethod(std::string m) { method = std::move(m); return *this; }
    Fault &times(int n) { uses = n; return *this; }
    Fault &header(std::string name, std::string value)
    {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

// One request as the server saw it.
struct RecordedRequest {
    std::uint64_t connection = 0;      // serial of the TCP connection (1, 2, ...): keep-alive shows
    std::string method;
    std::string target;                // as on the request line, query included
    std::string path;                  // target without the query
    std::map<std::string, std::string> headers; // names lowercased; repeats joined with ", "
    std::string body;                  // de-chunked
    std::chrono::steady_clock::time_point arrived; // when the request was fully read
    int status = 0;                    // status line sent; 0 for Hang
    std::optional<FaultKind> fault;    // the fault applied, if any

    std::string header(const std::string &lowercaseName) const
    {
        auto it = headers.find(lowercaseName);
        return it == headers.end() ? std::string() : it->second;
    }
};

class FaultServer {
public:
    using Predicate = std::function<bool(const std::vector<RecordedRequest> &)>;

    // Binds 127.0.0.1 on a free port and starts serving. Throws
    // std::system_error when the socket cannot be set up (a test setup failure).
    FaultServer();
    ~FaultServer();
    FaultServer(const FaultServer &) = delete;
    FaultServer &operator=(const FaultServer &) = delete;

    std::uint16_t port() const { return m_port; }
    std::string baseUrl() const; // "http://127.0.0.1:PORT", no trailing slash

    // GET/HEAD of files below `dir` (URL path "/a/b" is dir/a/b). No root: 404.
    void setDocumentRoot(std::filesystem::path dir);
    // The answer to `method` on exact `path`, ahead of the document root
    // (e.g. POST /v1/devices/x/status → 204). Unconfigured POST/PUT: 404.
    void setResponse(const std::string &method, const std::string &path, int status,
                     std::string body = {}, Headers headers = {});

    // Returns an id for removeFault / usesLeft.
    int addFault(Fault fault);
    void removeFault(int id);
    void clearFaults();
    int usesLeft(int id) const; // -1: forever; 0: spent or removed

    std::vector<RecordedRequest> requests() const;
    std::vector<RecordedRequest> requestsTo(const std::string &path) const;
    void clearLog();
    // Waits until `pred(log)` holds or `timeout` passes; true when it held.
    // Wakes on every log append, no polling interval. `pred` runs under the
    // server's lock: it must only look at the log, never call the server.
    bool waitFor(const Predicate &pred, std::chrono::milliseconds timeout) const;
    // Waits until at least `n` requests to `path` were logged.
    bool waitForRequests(const std::string &path, std::size_t n, std::chrono::milliseconds timeout) const;

    // RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), locale-independent.
    static std::string httpDate(std::chrono::system_clock::time_point t);

    struct Connection; // internal: one accepted socket and its thread

private:
    struct Response;
    void acceptLoop();
    void serve(Connection &c);
    bool handleOne(Connection &c, std::string &buffer);
    Response chooseResponse(const RecordedRequest &req, std::optional<Fault> &fault);
    Response staticResponse(const RecordedRequest &req, const std::filesystem::path &root);
    void sendResponse(Connection &c, const RecordedRequest &req, const Response &r,
                      const std::optional<Fault> &fault, bool &keepOpen);
    void reapFinished();

    int m_listenFd = -1;
    int m_wakeRead = -1;  // readable once stop is requested: every poll() includes it
    int m_wakeWrite = -1;
    std::uint16_t m_port = 0;

    mutable std::mutex m_mutex;
    mutable std::condition_variable m_logChanged;
    std::optional<std::filesystem::path> m_root;
    std::map<std::pair<std::string, std::string>, std::tuple<int, std::string, Headers>> m_responses;
    std::vector<std::pair<int, Fault>> m_faults;
    int m_nextFaultId = 1;
    std::vector<RecordedRequest> m_log;

    std::mutex m_connMutex;
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::uint64_t m_connectionSerial = 0;
    std::thread m_acceptor;
};

} // namespace stoa::testing
