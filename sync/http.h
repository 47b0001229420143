// sync/http.h — HTTP(S) and file:// transfers through libcurl.
//
// Job: one place that knows libcurl. Requests are described as plain data,
// run one at a time (perform) or several in parallel (performAll, a sliding
// window over curl's multi interface, all in the calling thread), and come
// back as a Response or a TransferError saying what went wrong in words an
// operator understands. No secret (the bearer token) is ever logged.
//
// Invariants:
//  - a body sink only ever sees bytes of a 2xx answer; other answers' bodies
//    are kept (first 4 KiB) for the log, never handed on as data;
//  - never more than `maxBytes` body bytes are accepted: more aborts the
//    transfer with TransferError::TooLarge;
//  - a transfer slower than lowSpeedLimit bytes/s for lowSpeedTime seconds is
//    aborted (a drip-feeding server is a failure, not a very slow success).
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace stoa::sync {

struct HttpOptions {
    std::string userAgent = "stoa";
    std::string bearerToken;        // sent as Authorization: Bearer; empty: none
    std::string caFile;             // extra CA bundle; empty: the system store
    long connectTimeoutS = 15;
    long lowSpeedLimit = 256;       // bytes/s ...
    long lowSpeedTimeS = 30;        // ... for this long, then abort
    std::int64_t maxRecvBytesPerSecond = 0; // per transfer; 0: unlimited
    // SO_RCVBUF of every connection (the kernel doubles it for bookkeeping);
    // 0: the kernel's autotuning (up to net.ipv4.tcp_rmem's max, 32 MiB on
    // some hosts). Bytes waiting in the socket when the agent is killed are
    // lost and fetched again; 256 KiB keeps that under 1 MB (sync_bench (b)).
    // It also bounds one connection to one window per round trip: about
    // 450 KB here, so ~11 MB/s at 40 ms RTT, ~4.5 MB/s at 100 ms.
    int receiveBufferBytes = 256 * 1024;
    // Called in the transferring thread while a transfer runs (libcurl's
    // progress callback: about once a second, and as data moves). A long
    // download is not a hung loop: the agent ticks its liveness here.
    std::function<void()> onActivity;
};

struct Request {
    std::string url;
    std::string method = "GET";            // GET, POST, PUT
    std::string body;                      // POST/PUT body
    std::string contentType;               // for POST/PUT
    std::string ifNoneMatch;               // conditional GET, empty: none
    std::string ifModifiedSince;
    std::uint64_t rangeFrom = 0;           // > 0: ask for bytes rangeFrom- (resume)
    std::uint64_t maxBytes = 4u << 20;     // body limit
    long totalTimeoutS = 0;                // whole transfer; 0: none (low-speed limit still applies)
    // Receives 2xx body bytes as they arrive; return false to abort. Absent:
    // the body is collected into Response::body.
    std::function<bool(long status, std::span<const std::byte>)> sink;
};

struct Response {
    long status = 0;                            // HTTP status; file:// success is 200
    std::map<std::string, std::string> headers; // lower-case names, last value wins
    std::string body;                           // collected body (no sink), or an error page's start
    std::uint64_t bodyBytes = 0;                // bytes received (including ones given to the sink)

    std::string header(const std::string &lowerName) const;
    bool ok() const { return status >= 200 && status < 300; }
};

struct TransferError {
    enum Kind { Dns, Connect, Tls, Timeout, TooSlow, Reset, Truncated, TooLarge, Aborted, NotFound, Other };
    Kind kind = Other;
    std::string message; // for logs and the diagnostics screen

    static const char *kindName(Kind k);
};

using TransferResult = std::expected<Response, TransferError>;

class HttpClient {
public:
    explicit HttpClient(HttpOptions options);
    ~HttpClient();
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    TransferResult perform(const Request &request);
    // Runs all requests, at most `parallel` at a time; `done(i, result)` is
    // called as each finishes (in this thread).
    void performAll(const std::vector<Request> &requests, int parallel,
                    const std::function<void(std::size_t, TransferResult)> &done);

    const HttpOptions &options() const { return m_options; }

    // From any thread: ends every transfer in progress (and any started
    // later) with TransferError::Aborted, promptly — also one that is
    // waiting on a silent server or on the rate cap. For shutting down.
    void abort() { m_abort.store(true); }

private:
    struct Transfer;
    std::unique_ptr<Transfer> prepare(const Request &request);
    TransferResult finish(Transfer &t, int curlCode);

    HttpOptions m_options;
    void *m_share = nullptr; // CURLSH*: DNS and connection cache shared by transfers
    std::atomic<bool> m_abort{false}; // set by abort(); the only state shared between threads
};

} // namespace stoa::sync
