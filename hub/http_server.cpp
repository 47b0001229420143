#include "hub/http_server.h"

#include "hub/logging.h"

#include <microhttpd.h>

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace stoa::hub {

std::string_view HttpRequest::header(const std::string &name) const
{
    auto it = headers.find(name);
    return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

HttpResponse HttpResponse::text(int status, std::string body)
{
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    if (!r.body.empty() && r.body.back() != '\n')
        r.body += '\n';
    return r;
}

HttpResponse HttpResponse::json(int status, std::string body)
{
    HttpResponse r;
    r.status = status;
    r.contentType = "application/json";
    r.body = std::move(body);
    return r;
}

// One request's way back. `conn` is valid until the answer is queued: the
// connection cannot complete before that (it is suspended or inside the
// handler call).
struct Reply::State {
    HttpServer::Impl *server = nullptr;
    MHD_Connection *conn = nullptr;
    std::mutex mutex;              // guards everything below
    bool suspended = false;        // the handler call returned without an answer
    bool answered = false;
    std::optional<HttpResponse> pending; // answered inside the handler call
};

struct HttpServer::Impl {
    HttpHandler &handler;
    HttpServerOptions options;
    MHD_Daemon *daemon = nullptr;
    std::uint16_t boundPort = 0;
    std::atomic<std::uint64_t> open{0};
    std::atomic<std::uint64_t> suspended{0};
    std::atomic<std::uint64_t> shed{0};
    std::atomic<std::uint64_t> inFlight{0}; // dispatched, answer not yet sent in full
    std::mutex idleMutex;                   // with idleCv: waitIdle() sleeps until inFlight drops
    std::condition_variable idleCv;

    // A TLS reload retires the old daemon: it finishes its connections on
    // the drainer thread, then stops.
    std::mutex reloadMutex;            // serialises reloadTls(), quiesce()
    std::atomic<bool> quiesced{false}; // stopping: new requests get 503, answers close their connection
    std::mutex drainMutex;             // guards draining, drainStop, drainer
    std::condition_variable drainWake;
    std::vector<MHD_Daemon *> draining;
    bool drainStop = false;
    std::thread drainer;

    Impl(HttpHandler &h, HttpServerOptions o) : handler(h), options(std::move(o)) {}
    MHD_Daemon *launch(int listenFd); // -1: bind options.address:port
    void retire(MHD_Daemon *old);
    void drain();
};

namespace {

// How much of a body past its limit is read and dropped before the
// connection is cut instead of answered.
constexpr std::size_t kDropBudget = 1024 * 1024;

// Per connection (libmicrohttpd's socket context): what stays the same
// from one request of a keep-alive connection to the next.
struct ConnectionContext {
    std::string remote;                   // the client's address, for logs
    std::shared_ptr<void> handlerState;   // HttpRequest::connectionState
};

// Per request (libmicrohttpd's con_cls).
struct RequestContext {
    HttpRequest request;
    std::size_t limit = 0;
    bool answered = false;   // an answer was queued before the body was read
    bool dispatched = false; // handed to the handler
    bool tooLarge = false;   // the body passed the limit: dropped, then 413
    std::size_t dropped = 0; // body bytes dropped since
    std::shared_ptr<Reply::State> state;
};

// The usual answer to a heartbeat or a plays batch (204, no body, the
// default headers): one response shared by every connection (libmicrohttpd
// counts its uses), instead of building and freeing one per request.
const std::string &defaultContentType()
{
    static const std::string type = HttpResponse{}.contentType;
    return type;
}

MHD_Response *sharedNoContent()
{
    static MHD_Response *const shared = [] {
        MHD_Response *r = MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
        if (r && MHD_add_response_header(r, "Content-Type", defaultContentType().c_str()) != MHD_YES) {
            MHD_destroy_response(r);
            r = nullptr;
        }
        return r;
    }();
    return shared;
}

MHD_Result queue(MHD_Connection *conn, HttpResponse response)
{
    if (response.status == 204 && response.fd < 0 && response.body.empty() && response.headers.empty()
        && !response.close && response.contentType == defaultContentType()) {
        if (MHD_Response *shared = sharedNoContent())
            return MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, shared);
    }
    MHD_Response *r = nullptr;
    if (response.fd >= 0) {
        r = MHD_create_response_from_fd_at_offset64(response.fileLength, response.fd,
                                                    response.fileOffset);
        if (!r)
            ::close(response.fd);
    } else {
        r = MHD_create_response_from_buffer(response.body.size(), response.body.data(), MHD_RESPMEM_MUST_COPY);
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", response.contentType.c_str());
    for (const auto &[name, value] : response.headers)
        MHD_add_response_header(r, name.c_str(), value.c_str());
    if (response.close)
        MHD_add_response_header(r, "Connection", "close");
    const MHD_Result ok = MHD_queue_response(conn, static_cast<unsigned>(response.status), r);
    MHD_destroy_response(r);
    return ok;
}

MHD_Result collectHeader(void *cls, MHD_ValueKind, const char *key, const char *value)
{
    auto *headers = static_cast<std::map<std::string, std::string> *>(cls);
    std::string name(key);
    for (char &c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = headers->emplace(std::move(name), value ? value : "");
    if (!inserted) // repeated header: RFC 9110 list semantics
        it->second += std::string(", ") + (value ? value : "");
    return MHD_YES;
}

MHD_Result collectQuery(void *cls, MHD_ValueKind, const char *key, const char *value)
{
    static_cast<std::map<std::string, std::string> *>(cls)->emplace(key, value ? value : "");
    return MHD_YES;
}

std::string remoteOf(MHD_Connection *conn)
{
    const auto *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return "?";
    char buf[INET6_ADDRSTRLEN] = {};
    const sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(sa)->sin_addr, buf, sizeof buf);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(sa)->sin6_addr, buf, sizeof buf);
    return buf;
}

bool requestHasBody(const HttpRequest &request)
{
    const auto length = request.header("content-length");
    return (!length.empty() && length != "0") || !request.header("transfer-encoding").empty();
}

MHD_Result onRequest(void *cls, MHD_Connection *conn, const char *url, const char *method, const char *,
                     const char *uploadData, std::size_t *uploadSize, void **conCls)
{
    auto *impl = static_cast<HttpServer::Impl *>(cls);
    auto *ctx = static_cast<RequestContext *>(*conCls);
    if (!ctx) {
        ctx = new RequestContext;
        *conCls = ctx;
        HttpRequest &req = ctx->request;
        req.method = method;
        req.path = url;
        const auto *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        auto *connection = info ? static_cast<ConnectionContext *>(info->socket_context) : nullptr;
        req.remote = connection ? connection->remote : remoteOf(conn);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, collectHeader, &req.headers);
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collectQuery, &req.query);

        const unsigned soft = impl->options.softConnectionLimit
                                  ? impl->options.softConnectionLimit
                                  : std::max(1u, impl->options.connectionLimit * 9 / 10);
        std::optional<HttpResponse> early;
        bool refused = false;
        if (impl->quiesced.load()) {
            // A keep-alive connection asking while the hub stops.
            early = HttpResponse::text(503, "stopping: try again shortly");
            early->headers.emplace_back("Retry-After", std::to_string(impl->options.retryAfterS));
            early->close = true;
        } else if (impl->open.load() > soft
                   && !(req.method == "GET"
                        && std::find(impl->options.neverShed.begin(), impl->options.neverShed.end(), req.path)
                               != impl->options.neverShed.end())) {
            refused = true;
            impl->shed.fetch_add(1);
            early = HttpResponse::text(503, "busy: too many connections, try again later");
            early->headers.emplace_back("Retry-After", std::to_string(impl->options.retryAfterS));
        } else {
            req.connectionState = connection ? &connection->handlerState : nullptr;
            auto admitted = impl->handler.admit(req);
            req.connectionState = nullptr; // admit() only
            if (auto *response = std::get_if<HttpResponse>(&admitted)) {
                early = std::move(*response);
            } else {
                ctx->limit = std::get<std::size_t>(admitted);
                const auto length = req.header("content-length");
                if (!length.empty()) {
                    const std::string declared(length);
                    char *end = nullptr;
                    const unsigned long long n = std::strtoull(declared.c_str(), &end, 10);
                    if (n > ctx->limit || end == nullptr || *end != '\0') {
                        refused = true;
                        early = HttpResponse::text(413, "body of " + declared + " bytes is over this route's "
                                                            + std::to_string(ctx->limit) + "-byte limit");
                    } else {
                        req.body.reserve(static_cast<std::size_t>(n)); // within the limit: one allocation
                    }
                }
            }
        }
        if (early) {
            ctx->answered = true;
            // The unread body cannot be skipped reliably: close after answering.
            if (requestHasBody(req))
                early->close = true;
            if (refused)
                impl->handler.refused(req, early->status);
            return queue(conn, std::move(*early));
        }
        return MHD_YES;
    }

    if (ctx->answered || ctx->dispatched) {
        *uploadSize = 0; // a body after an early answer is dropped
        return MHD_YES;
    }
    if (*uploadSize > 0) {
        if (ctx->tooLarge) {
            // Dropped as it comes (no memory), up to a budget: a body that
            // ends soon after the cap gets its 413; an endless one is cut.
            ctx->dropped += *uploadSize;
            *uploadSize = 0;
            if (ctx->dropped > std::max<std::size_t>(ctx->limit, kDropBudget)) {
                qCWarning(lcHub).noquote() << "closing:" << ctx->request.method.c_str() << ctx->request.path.c_str()
                                           << "from" << ctx->request.remote.c_str() << "kept sending past the"
                                           << static_cast<qulonglong>(ctx->limit) << "-byte limit";
                return MHD_NO;
            }
            return MHD_YES;
        }
        if (ctx->request.body.size() + *uploadSize > ctx->limit) {
            ctx->tooLarge = true;
            ctx->dropped = ctx->request.body.size() + *uploadSize;
            ctx->request.body.clear();
            ctx->request.body.shrink_to_fit();
            *uploadSize = 0;
            qCWarning(lcHub).noquote() << "413:" << ctx->request.method.c_str() << ctx->request.path.c_str() << "from"
                                       << ctx->request.remote.c_str() << "sent a body over"
                                       << static_cast<qulonglong>(ctx->limit) << "bytes";
            return MHD_YES;
        }
        ctx->request.body.append(uploadData, *uploadSize);
        *uploadSize = 0;
        return MHD_YES;
    }
    if (ctx->tooLarge) {
        // libmicrohttpd 0.9.75 takes an answer only once the body is in.
        ctx->answered = true;
        auto tooLarge = HttpResponse::text(413, "body over this route's " + std::to_string(ctx->limit) + "-byte limit");
        tooLarge.close = true;
        impl->handler.refused(ctx->request, 413);
        return queue(conn, std::move(tooLarge));
    }

    ctx->dispatched = true;
    impl->inFlight.fetch_add(1);
    ctx->state = std::make_shared<Reply::State>();
    ctx->state->server = impl;
    ctx->state->conn = conn;
    auto state = ctx->state;
    // Moved: the request is not read here again (onCompleted only frees it).
    impl->handler.handle(std::move(ctx->request), Reply(state));
    std::lock_guard lock(state->mutex);
    if (state->pending) {
        auto response = std::move(*state->pending);
        state->pending.reset();
        if (impl->quiesced.load())
            response.close = true;
        return queue(conn, std::move(response));
    }
    if (!state->answered) {
        MHD_suspend_connection(conn);
        state->suspended = true;
        impl->suspended.fetch_add(1);
    }
    return MHD_YES;
}

void onCompleted(void *cls, MHD_Connection *, void **conCls, MHD_RequestTerminationCode)
{
    auto *ctx = static_cast<RequestContext *>(*conCls);
    if (ctx && ctx->dispatched) {
        auto *impl = static_cast<HttpServer::Impl *>(cls);
        if (impl->inFlight.fetch_sub(1) == 1) {
            std::lock_guard lock(impl->idleMutex);
            impl->idleCv.notify_all();
        }
    }
    delete ctx;
    *conCls = nullptr;
}

void onConnection(void *cls, MHD_Connection *conn, void **socketContext, MHD_ConnectionNotificationCode code)
{
    auto *impl = static_cast<HttpServer::Impl *>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        impl->open.fetch_add(1);
        *socketContext = new ConnectionContext{remoteOf(conn), {}};
    } else {
        impl->open.fetch_sub(1);
        delete static_cast<ConnectionContext *>(*socketContext);
        *socketContext = nullptr;
    }
}

// libmicrohttpd's panics: its default handler prints to stderr and aborts,
// so the hub's log never said why it died. Logged here first, then abort as
// before (MHD cannot go on after one: returning was tried for the quiesce
// race below and crashed in MHD_stop_daemon every time).
void onMhdPanic(void *, const char *file, unsigned int line, const char *reason)
{
    const int err = errno;
    qCCritical(lcHub, "http: libmicrohttpd panicked at %s:%u: %s (errno %d); aborting", file ? file : "?", line,
               reason ? reason : "?", err);
    std::abort();
}

void logFromMhd(void *, const char *fmt, va_list ap)
{
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
    qCInfo(lcHub).noquote() << "http:" << line.c_str();
}

} // namespace

Reply::Reply(std::shared_ptr<State> state) : state_(std::move(state)) {}
Reply::Reply(Reply &&) noexcept = default;
Reply &Reply::operator=(Reply &&o) noexcept
{
    if (this != &o) {
        if (state_)
            send(HttpResponse::text(500, "internal error: request dropped"));
        state_ = std::move(o.state_);
    }
    return *this;
}

Reply::~Reply()
{
    if (state_)
        send(HttpResponse::text(500, "internal error: request dropped unanswered"));
}

void Reply::send(HttpResponse response)
{
    if (!state_)
        return;
    auto state = std::move(state_);
    std::lock_guard lock(state->mutex);
    if (state->answered)
        return;
    state->answered = true;
    if (!state->suspended) {
        state->pending = std::move(response); // the handler call is still running
        return;
    }
    if (state->server->quiesced.load())
        response.close = true; // stopping: the client reconnects elsewhere or later
    queue(state->conn, std::move(response));
    state->suspended = false;
    state->server->suspended.fetch_sub(1);
    MHD_resume_connection(state->conn);
}

HttpServer::HttpServer(HttpHandler &handler, HttpServerOptions options)
    : d(std::make_unique<Impl>(handler, std::move(options)))
{
    static std::once_flag panicHandler; // process-wide in MHD
    std::call_once(panicHandler, [] { MHD_set_panic_func(&onMhdPanic, nullptr); });
}

HttpServer::~HttpServer() { stop(); }

namespace {

// Whether `certPem` and `keyPem` are a certificate chain and its key, before
// a reload lets go of the working pair.
std::optional<std::string> checkTlsPair(const std::string &certPem, const std::string &keyPem)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> certBio(BIO_new_mem_buf(certPem.data(), static_cast<int>(certPem.size())), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> keyBio(BIO_new_mem_buf(keyPem.data(), static_cast<int>(keyPem.size())), &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!cert)
        return std::string("the certificate file holds no PEM certificate");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr),
                                                            &EVP_PKEY_free);
    if (!key)
        return std::string("the key file holds no unencrypted PEM private key");
    if (X509_check_private_key(cert.get(), key.get()) != 1)
        return std::string("the key does not belong to the certificate");
    return std::nullopt;
}

} // namespace

MHD_Daemon *HttpServer::Impl::launch(int listenFd)
{
    sockaddr_storage addr{};
    bool v6 = false;
    auto *a4 = reinterpret_cast<sockaddr_in *>(&addr);
    auto *a6 = reinterpret_cast<sockaddr_in6 *>(&addr);
    if (inet_pton(AF_INET, options.address.c_str(), &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(options.port);
    } else if (inet_pton(AF_INET6, options.address.c_str(), &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(options.port);
        v6 = true;
    } else {
        return nullptr;
    }

    const bool tls = !options.tlsCertPem.empty();
    // epoll for plain HTTP (thousands of held connections). With TLS, poll():
    // a certificate reload quiesces the daemon to hand its socket over, and
    // on an epoll daemon MHD_quiesce_daemon() races the event loop into an
    // abort (quiesce() below); on a poll() daemon it signals the threads
    // instead. Fleets past a few thousand devices terminate TLS in HAProxy
    // or nginx (packaging/hub/) and keep epoll.
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    flags |= tls ? MHD_USE_POLL | MHD_USE_ITC | MHD_USE_TLS : MHD_USE_EPOLL;
    if (v6)
        flags |= MHD_USE_IPv6;

    const unsigned threads = options.threads ? options.threads : 1;
    std::vector<MHD_OptionItem> opts = {
        {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&logFromMhd), nullptr},
        listenFd >= 0 ? MHD_OptionItem{MHD_OPTION_LISTEN_SOCKET, listenFd, nullptr}
                      : MHD_OptionItem{MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(threads), nullptr},
        // The hard limit sits above the soft one so a shed answer can be sent.
        {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.connectionLimit), nullptr},
        {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.idleTimeoutS), nullptr},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(options.connectionMemory), nullptr},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, nullptr},
        {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&onCompleted), this},
        {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&onConnection), this},
    };
    if (tls) {
        opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char *>(options.tlsCertPem.c_str())});
        opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char *>(options.tlsKeyPem.c_str())});
    }
    opts.push_back({MHD_OPTION_END, 0, nullptr});
    return MHD_start_daemon(flags, 0, nullptr, nullptr, &onRequest, this, MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
}

std::optional<std::string> HttpServer::start()
{
    if (d->daemon)
        return std::string("already serving");
    if (!d->options.tlsCertPem.empty()) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
            return std::string("this libmicrohttpd has no TLS support");
        if (auto bad = checkTlsPair(d->options.tlsCertPem, d->options.tlsKeyPem))
            return "TLS: " + *bad;
    }
    d->daemon = d->launch(-1);
    if (!d->daemon)
        return "cannot listen on " + d->options.address + ":" + std::to_string(d->options.port)
               + " (not an IP address of this machine, or in use)";
    const auto *info = MHD_get_daemon_info(d->daemon, MHD_DAEMON_INFO_BIND_PORT);
    d->boundPort = info ? info->port : d->options.port;
    return std::nullopt;
}

std::optional<std::string> HttpServer::reloadTls(std::string certPem, std::string keyPem)
{
    std::lock_guard lock(d->reloadMutex);
    if (!d->daemon || d->quiesced.load())
        return std::string("not serving");
    if (d->options.tlsCertPem.empty())
        return std::string("started without TLS: restart with --tls-cert/--tls-key");
    if (auto bad = checkTlsPair(certPem, keyPem))
        return "TLS: " + *bad + "; still serving the previous certificate";
    // The old daemon stops accepting and hands its listening socket to the
    // new one: no connection is refused meanwhile, and the ones it holds
    // (requests in progress, held wake-ups) finish there. A TLS daemon
    // polls with poll(), where this quiesce is safe (launch()).
    const MHD_socket fd = MHD_quiesce_daemon(d->daemon);
    if (fd == MHD_INVALID_SOCKET)
        return std::string("cannot hand the listening socket over; still serving the previous certificate");
    std::swap(d->options.tlsCertPem, certPem);
    std::swap(d->options.tlsKeyPem, keyPem);
    MHD_Daemon *fresh = d->launch(fd);
    if (!fresh) {
        // Back to the old pair on the same socket.
        std::swap(d->options.tlsCertPem, certPem);
        std::swap(d->options.tlsKeyPem, keyPem);
        fresh = d->launch(fd);
        if (!fresh)
            return std::string("cannot serve on the handed-over socket: the hub no longer accepts connections");
        d->retire(d->daemon);
        d->daemon = fresh;
        return std::string("the new certificate was refused by libmicrohttpd; still serving the previous one");
    }
    d->retire(d->daemon);
    d->daemon = fresh;
    return std::nullopt;
}

void HttpServer::Impl::retire(MHD_Daemon *old)
{
    // Stopped once its last connection closed (a held wake-up lasts up to
    // 60 s), at the latest after two minutes.
    std::lock_guard lock(drainMutex);
    draining.push_back(old);
    if (!drainer.joinable())
        drainer = std::thread([this] { drain(); });
}

void HttpServer::Impl::drain()
{
    std::unique_lock lock(drainMutex);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (!draining.empty()) {
        for (auto it = draining.begin(); it != draining.end();) {
            const auto *info = MHD_get_daemon_info(*it, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            if (drainStop || (info && info->num_connections == 0) || std::chrono::steady_clock::now() > deadline) {
                MHD_stop_daemon(*it);
                it = draining.erase(it);
            } else {
                ++it;
            }
        }
        drainWake.wait_for(lock, std::chrono::milliseconds(200), [this] { return drainStop; });
    }
}

void HttpServer::quiesce()
{
    // Not MHD_quiesce_daemon(): on an epoll daemon with its own threads it
    // races the event loop to take the listening socket out of the epoll
    // set, and the loser's ENOENT (or EBADF once the socket is closed) is an
    // MHD panic, an abort (libmicrohttpd 0.9.75; the hub died by SIGABRT at
    // SIGTERM with requests in flight, and a bare MHD program aborted in 5
    // of 1,500 quiesces under load). Connections are still accepted until
    // stop(); every request from now on is answered 503 + Retry-After with
    // its connection closed, and the ones in flight finish.
    std::lock_guard lock(d->reloadMutex);
    d->quiesced.store(true);
}

bool HttpServer::waitIdle(std::chrono::milliseconds timeout)
{
    // Every dispatched request ends in onCompleted() once its answer went
    // out (or its client left), which wakes this.
    std::unique_lock lock(d->idleMutex);
    return d->idleCv.wait_for(lock, timeout, [this] { return d->inFlight.load() == 0; });
}

void HttpServer::stop()
{
    {
        std::lock_guard lock(d->drainMutex);
        d->drainStop = true;
    }
    d->drainWake.notify_all();
    std::thread drainer;
    {
        std::lock_guard lock(d->drainMutex);
        drainer = std::move(d->drainer);
    }
    if (drainer.joinable())
        drainer.join();
    if (!d->daemon)
        return;
    MHD_stop_daemon(d->daemon);
    d->daemon = nullptr;
}

std::uint16_t HttpServer::port() const { return d->boundPort; }

HttpServerStats HttpServer::stats() const { return {d->open.load(), d->suspended.load(), d->shed.load()}; }

} // namespace stoa::hub
