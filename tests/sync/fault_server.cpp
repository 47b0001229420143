// tests/sync/fault_server.cpp — the fault-injecting HTTP/1.1 test server.
//
// One acceptor thread and one thread per connection, each blocking only in
// poll() on its socket plus the shared wake pipe, so stop() interrupts every
// wait (a drip's interval, a hang, a slow client). Requests are parsed just
// enough for what clients of spec §1 send: request line, headers,
// Content-Length or chunked bodies, Expect: 100-continue, keep-alive.
#include "fault_server.h"

#include <QLoggingCategory>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <ranges>
#include <system_error>

Q_LOGGING_CATEGORY(lcFaultServer, "stoa.test.faultserver", QtWarningMsg)

namespace stoa::testing {

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

enum class Wait { Ready, Timeout, Stop };

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return std::string(s);
}

std::string hex(std::uint64_t v)
{
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
    return std::string(buf, r.ptr);
}

const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

// IMF-fixdate → seconds since the epoch; nothing for anything else.
std::optional<std::time_t> parseHttpDate(const std::string &s)
{
    static constexpr const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wday[4] = {}, mon[4] = {};
    std::tm tm{};
    if (std::sscanf(s.c_str(), "%3s, %d %3s %d %d:%d:%d GMT", wday, &tm.tm_mday, mon, &tm.tm_year,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
        return std::nullopt;
    const auto m = std::find_if(std::begin(months), std::end(months),
                                [&](const char *name) { return std::string_view(name) == mon; });
    if (m == std::end(months))
        return std::nullopt;
    tm.tm_mon = int(m - std::begin(months));
    tm.tm_year -= 1900;
    return timegm(&tm);
}

std::string percentDecode(std::string_view in)
{
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        int v = 0;
        if (in[i] == '%' && i + 2 < in.size() &&
            std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16).ptr == in.data() + i + 3) {
            out.push_back(char(v));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

bool etagMatches(std::string_view headerValue, const std::string &etag)
{
    // Weak comparison (RFC 9110 §13.1.2): W/ prefixes do not matter.
    auto strip = [](std::string t) { return t.rfind("W/", 0) == 0 ? t.substr(2) : t; };
    for (const auto part : std::views::split(headerValue, ',')) {
        const std::string item = trim(std::string_view(part.begin(), part.end()));
        if (item == "*" || strip(item) == strip(etag))
            return true;
    }
    return false;
}

// The whole file, or nothing.
std::optional<std::string> readFile(const std::filesystem::path &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out;
    char chunk[65536];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof chunk)) > 0)
        out.append(chunk, std::size_t(n));
    ::close(fd);
    return n < 0 ? std::nullopt : std::optional(std::move(out));
}

} // namespace

struct FaultServer::Connection {
    int fd = -1;
    std::uint64_t serial = 0;
    int wakeFd = -1;
    std::atomic<bool> done{false};
    std::thread thread;

    // Waits for `events` on the socket, the wake pipe, or the timeout (-1: none).
    Wait wait(short events, int timeoutMs) const
    {
        pollfd fds[2] = {{fd, events, 0}, {wakeFd, POLLIN, 0}};
        for (;;) {
            const int n = ::poll(fds, 2, timeoutMs);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 || (fds[1].revents & POLLIN))
                return Wait::Stop;
            return n == 0 ? Wait::Timeout : Wait::Ready;
        }
    }

    // Appends what arrives to `buffer`; false on close, error or stop.
    bool readMore(std::string &buffer) const
    {
        for (;;) {
            if (wait(POLLIN, -1) != Wait::Ready)
                return false;
            char chunk[16384];
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                buffer.append(chunk, std::size_t(n));
                return true;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return false;
        }
    }

    bool sendAll(std::string_view data) const
    {
        while (!data.empty()) {
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n > 0) {
                data.remove_prefix(std::size_t(n));
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return false;
            if (wait(POLLOUT, -1) != Wait::Ready)
                return false;
        }
        return true;
    }

    // Waits (bounded) until the kernel sent everything queued, so a reset
    // that follows cannot discard bytes the fault promised to deliver.
    void drain() const
    {
        for (int i = 0; i < 200; ++i) {
            int queued = 0;
            if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued == 0)
                return;
            if (wait(0, 5) == Wait::Stop)
                return;
        }
    }
};

struct FaultServer::Response {
    int status = 404;
    Headers headers;
    std::string body;
    bool sendBody = true; // false for HEAD, 204 and 304: headers only
    bool declareLength = true;
};

Fault Fault::statusCode(int code, Headers extra, std::string text)
{
    Fault f;
    f.kind = FaultKind::Status;
    f.status = code;
    f.headers = std::move(extra);
    f.body = text.empty() ? std::to_string(code) + " " + reason(code) + "\n" : std::move(text);
    return f;
}

Fault Fault::retryAfter(int code, std::string value)
{
    return statusCode(code, {{"Retry-After", std::move(value)}});
}

Fault Fault::reset(std::size_t afterBytes)
{
    Fault f;
    f.kind = FaultKind::Reset;
    f.afterBytes = afterBytes;
    return f;
}

Fault Fault::truncate(std::size_t afterBytes)
{
    Fault f;
    f.kind = FaultKind::Truncate;
    f.afterBytes = afterBytes;
    return f;
}

Fault Fault::overlong(std::size_t extraBytes, Framing framing)
{
    Fault f;
    f.kind = FaultKind::Overlong;
    f.extraBytes = extraBytes;
    f.framing = framing;
    return f;
}

Fault Fault::flipBytes(std::size_t offset, std::size_t count)
{
    Fault f;
    f.kind = FaultKind::FlipBytes;
    f.offset = offset;
    f.count = count;
    return f;
}

Fault Fault::captivePortal()
{
    Fault f;
    f.kind = FaultKind::CaptivePortal;
    f.status = 200;
    f.contentType = "text/html; charset=utf-8";
    f.body = "<!DOCTYPE html>\n<html><head><title>Guest Wi-Fi</title></head>\n"
             "<body><h1>Welcome!</h1><p>Please accept the terms of use to continue.</p>\n"
             "<form method=\"post\" action=\"/login\"><button>Accept</button></form></body></html>\n";
    f.headers = {{"Cache-Control", "no-store"}};
    return f;
}

Fault Fault::replaceBody(std::string bytes, std::string contentType, int code)
{
    Fault f;
    f.kind = FaultKind::ReplaceBody;
    f.status = code;
    f.body = std::move(bytes);
    f.contentType = std::move(contentType);
    return f;
}

Fault Fault::drip(std::chrono::milliseconds interval, std::optional<std::size_t> bytes)
{
    Fault f;
    f.kind = FaultKind::Drip;
    f.interval = interval;
    f.dripBytes = bytes;
    return f;
}

Fault Fault::hang()
{
    Fault f;
    f.kind = FaultKind::Hang;
    return f;
}

FaultServer::FaultServer()
{
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    m_wakeRead = pipeFds[0];
    m_wakeWrite = pipeFds[1];

    m_listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_listenFd < 0)
        throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(m_listenFd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::listen(m_listenFd, 128) != 0 ||
        ::getsockname(m_listenFd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        const int err = errno;
        ::close(m_listenFd);
        throw std::system_error(err, std::generic_category(), "bind/listen");
    }
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] { acceptLoop(); });
    qCDebug(lcFaultServer) << "listening on port" << m_port;
}

FaultServer::~FaultServer()
{
    const char stop = 's';
    [[maybe_unused]] const ssize_t ignored = ::write(m_wakeWrite, &stop, 1);
    if (m_acceptor.joinable())
        m_acceptor.join();
    {
        std::lock_guard lock(m_connMutex);
        for (auto &c : m_connections)
            if (c->thread.joinable())
                c->thread.join();
        m_connections.clear();
    }
    ::close(m_listenFd);
    ::close(m_wakeRead);
    ::close(m_wakeWrite);
}

std::string FaultServer::baseUrl() const
{
    return "http://127.0.0.1:" + std::to_string(m_port);
}

void FaultServer::setDocumentRoot(std::filesystem::path dir)
{
    std::lock_guard lock(m_mutex);
    m_root = std::move(dir);
}

void FaultServer::setResponse(const std::string &method, const std::string &path, int status,
                              std::string body, Headers headers)
{
    std::lock_guard lock(m_mutex);
    m_responses[{method, path}] = {status, std::move(body), std::move(headers)};
}

int FaultServer::addFault(Fault fault)
{
    std::lock_guard lock(m_mutex);
    const int id = m_nextFaultId++;
    m_faults.emplace_back(id, std::move(fault));
    return id;
}

void FaultServer::removeFault(int id)
{
    std::lock_guard lock(m_mutex);
    std::erase_if(m_faults, [id](const auto &f) { return f.first == id; });
}

void FaultServer::clearFaults()
{
    std::lock_guard lock(m_mutex);
    m_faults.clear();
}

int FaultServer::usesLeft(int id) const
{
    std::lock_guard lock(m_mutex);
    for (const auto &[fid, f] : m_faults)
        if (fid == id)
            return f.uses;
    return 0;
}

std::vector<RecordedRequest> FaultServer::requests() const
{
    std::lock_guard lock(m_mutex);
    return m_log;
}

std::vector<RecordedRequest> FaultServer::requestsTo(const std::string &path) const
{
    std::lock_guard lock(m_mutex);
    std::vector<RecordedRequest> out;
    std::copy_if(m_log.begin(), m_log.end(), std::back_inserter(out),
                 [&](const RecordedRequest &r) { return r.path == path; });
    return out;
}

void FaultServer::clearLog()
{
    std::lock_guard lock(m_mutex);
    m_log.clear();
}

bool FaultServer::waitFor(const Predicate &pred, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(m_mutex);
    return m_logChanged.wait_for(lock, timeout, [&] { return pred(m_log); });
}

bool FaultServer::waitForRequests(const std::string &path, std::size_t n,
                                  std::chrono::milliseconds timeout) const
{
    return waitFor(
        [&](const std::vector<RecordedRequest> &log) {
            return std::size_t(std::count_if(log.begin(), log.end(),
                                             [&](const RecordedRequest &r) { return r.path == path; })) >= n;
        },
        timeout);
}

std::string FaultServer::httpDate(std::chrono::system_clock::time_point t)
{
    static constexpr const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

void FaultServer::acceptLoop()
{
    pollfd fds[2] = {{m_listenFd, POLLIN, 0}, {m_wakeRead, POLLIN, 0}};
    for (;;) {
        const int n = ::poll(fds, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (fds[1].revents & POLLIN))
            return;
        const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        reapFinished();
        std::lock_guard lock(m_connMutex);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->serial = ++m_connectionSerial;
        c->wakeFd = m_wakeRead;
        Connection *raw = c.get();
        c->thread = std::thread([this, raw] { serve(*raw); });
        m_connections.push_back(std::move(c));
    }
}

void FaultServer::reapFinished()
{
    std::lock_guard lock(m_connMutex);
    std::erase_if(m_connections, [](std::unique_ptr<Connection> &c) {
        if (!c->done.load())
            return false;
        c->thread.join();
        return true;
    });
}

void FaultServer::serve(Connection &c)
{
    try {
        std::string buffer;
        while (handleOne(c, buffer)) {
        }
    } catch (const std::exception &e) {
        qCWarning(lcFaultServer) << "connection" << c.serial << "failed:" << e.what();
    }
    if (c.fd >= 0) {
        // Lingering close, as nginx does: a FIN, then read what the client
        // still sends, so unread input cannot turn our close into a RST that
        // would destroy the last response in flight.
        ::shutdown(c.fd, SHUT_WR);
        std::string sink;
        while (sink.size() < (1u << 20) && c.wait(POLLIN, 1000) == Wait::Ready && c.readMore(sink)) {
        }
        ::close(c.fd);
    }
    c.fd = -1;
    c.done.store(true);
}

// Reads one request from `buffer` + the socket, answers it. False: close.
bool FaultServer::handleOne(Connection &c, std::string &buffer)
{
    std::size_t headerEnd;
    while ((headerEnd = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (buffer.size() > kMaxHeaderBytes || !c.readMore(buffer))
            return false;
    }
    RecordedRequest req;
    req.connection = c.serial;
    const std::string head = buffer.substr(0, headerEnd);
    buffer.erase(0, headerEnd + 4);

    std::vector<std::string_view> lines;
    for (const auto part : std::views::split(std::string_view(head), std::string_view("\r\n")))
        lines.emplace_back(part.begin(), part.end());
    std::string version;
    {
        // METHOD SP target SP HTTP/1.x
        const std::string_view rl = lines.front();
        const auto sp1 = rl.find(' ');
        const auto sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
        if (sp2 != std::string_view::npos) {
            req.method = rl.substr(0, sp1);
            req.target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
            version = trim(rl.substr(sp2 + 1));
        }
    }
    if (req.method.empty() || req.target.empty() || version.rfind("HTTP/1.", 0) != 0) {
        c.sendAll("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return false;
    }
    req.path = percentDecode(req.target.substr(0, req.target.find('?')));
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string value = trim(line.substr(colon + 1));
        auto [it, fresh] = req.headers.emplace(name, value);
        if (!fresh)
            it->second += ", " + value;
    }

    if (lower(req.header("expect")) == "100-continue" && !c.sendAll("HTTP/1.1 100 Continue\r\n\r\n"))
        return false;

    if (lower(req.header("transfer-encoding")).find("chunked") != std::string::npos) {
        for (;;) {
            std::size_t eol;
            while ((eol = buffer.find("\r\n")) == std::string::npos)
                if (!c.readMore(buffer))
                    return false;
            std::size_t size = 0;
            std::from_chars(buffer.data(), buffer.data() + eol, size, 16);
            buffer.erase(0, eol + 2);
            while (buffer.size() < size + 2)
                if (!c.readMore(buffer))
                    return false;
            req.body.append(buffer, 0, size);
            buffer.erase(0, size + 2);
            if (size == 0) // no trailers from the clients we test; the CRLF was consumed
                break;
        }
    } else if (const std::string cl = req.header("content-length"); !cl.empty()) {
        std::size_t size = 0;
        std::from_chars(cl.data(), cl.data() + cl.size(), size);
        while (buffer.size() < size)
            if (!c.readMore(buffer))
                return false;
        req.body = buffer.substr(0, size);
        buffer.erase(0, size);
    }
    req.arrived = std::chrono::steady_clock::now();

    std::optional<Fault> fault;
    const Response response = chooseResponse(req, fault);
    req.status = fault && fault->kind == FaultKind::Hang ? 0 : response.status;
    req.fault = fault ? std::optional(fault->kind) : std::nullopt;
    qCDebug(lcFaultServer) << "conn" << c.serial << req.method.c_str() << req.target.c_str() << "->"
                           << req.status;
    const bool clientKeepAlive = version == "HTTP/1.1" && lower(req.header("connection")) != "close";
    {
        std::lock_guard lock(m_mutex);
        m_log.push_back(req);
    }
    m_logChanged.notify_all();

    if (fault && fault->kind == FaultKind::Hang) {
        std::string sink;
        while (c.readMore(sink))
            sink.clear();
        return false;
    }
    bool keepOpen = clientKeepAlive;
    sendResponse(c, req, response, fault, keepOpen);
    return keepOpen;
}

FaultServer::Response FaultServer::chooseResponse(const RecordedRequest &req, std::optional<Fault> &fault)
{
    std::optional<std::filesystem::path> root;
    std::optional<std::tuple<int, std::string, Headers>> configured;
    {
        std::lock_guard lock(m_mutex);
        for (auto &[id, f] : m_faults) {
            if (f.uses == 0 || (f.method && *f.method != req.method))
                continue;
            if (f.prefix ? req.path.rfind(f.path, 0) != 0 : req.path != f.path)
                continue;
            fault = f;
            if (f.uses > 0)
                --f.uses;
            break;
        }
        root = m_root;
        if (auto it = m_responses.find({req.method, req.path}); it != m_responses.end())
            configured = it->second;
    }

    Response r;
    if (fault && (fault->kind == FaultKind::Status || fault->kind == FaultKind::CaptivePortal ||
                  fault->kind == FaultKind::ReplaceBody || fault->kind == FaultKind::Hang)) {
        r.status = fault->status;
        r.headers = fault->headers;
        r.headers.emplace_back("Content-Type", fault->contentType);
        r.body = fault->body;
    } else if (configured) {
        r.status = std::get<0>(*configured);
        r.body = std::get<1>(*configured);
        r.headers = std::get<2>(*configured);
    } else if ((req.method == "GET" || req.method == "HEAD") && root) {
        r = staticResponse(req, *root);
    } else {
        r.status = 404;
        r.headers = {{"Content-Type", "text/plain"}};
        r.body = "404 Not Found\n";
    }
    if (req.method == "HEAD" || r.status == 204 || r.status == 304)
        r.sendBody = false;
    if (r.status == 204 || r.status == 304)
        r.declareLength = false;
    return r;
}

// nginx-like static files: validators, conditional GET, single byte ranges.
FaultServer::Response FaultServer::staticResponse(const RecordedRequest &req, const std::filesystem::path &root)
{
    Response r;
    r.headers = {{"Content-Type", "text/plain"}};
    r.body = "404 Not Found\n";
    if (req.path.empty() || req.path.front() != '/' || req.path.find('\0') != std::string::npos)
        return r;
    const std::filesystem::path rel = std::filesystem::path(req.path.substr(1)).lexically_normal();
    for (const auto &part : rel)
        if (part == "..")
            return r;
    const std::filesystem::path file = root / rel;
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return r;
    std::optional<std::string> read = readFile(file);
    if (!read)
        return r;
    std::string content = std::move(*read);

    const std::uint64_t mtimeNs = std::uint64_t(st.st_mtim.tv_sec) * 1000000000ull + std::uint64_t(st.st_mtim.tv_nsec);
    const std::string etag = "\"" + hex(content.size()) + "-" + hex(mtimeNs) + "\"";
    const std::string lastModified = httpDate(std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec));
    const std::string type = file.extension() == ".json" ? "application/json"
                             : file.extension() == ".html" ? "text/html"
                                                           : "application/octet-stream";
    r.headers = {{"Content-Type", type}, {"ETag", etag}, {"Last-Modified", lastModified}, {"Accept-Ranges", "bytes"}};

    // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
    const std::string inm = req.header("if-none-match");
    bool notModified = false;
    if (!inm.empty()) {
        notModified = etagMatches(inm, etag);
    } else if (const auto ims = parseHttpDate(req.header("if-modified-since"))) {
        notModified = st.st_mtim.tv_sec <= *ims;
    }
    if (notModified) {
        r.status = 304;
        r.body.clear();
        return r;
    }

    r.status = 200;
    r.body = std::move(content);
    const std::string range = req.header("range");
    const std::string ifRange = req.header("if-range");
    if (range.rfind("bytes=", 0) != 0 || range.find(',') != std::string::npos ||
        (!ifRange.empty() && ifRange != etag && ifRange != lastModified))
        return r; // no, several or stale ranges: the whole file, as nginx does
    const std::string spec = trim(range.substr(6));
    const auto dash = spec.find('-');
    if (dash == std::string::npos)
        return r;
    auto number = [](std::string_view s) -> std::optional<std::uint64_t> {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty() ? std::optional(v) : std::nullopt;
    };
    const std::uint64_t size = r.body.size();
    std::uint64_t first = 0, last = size ? size - 1 : 0;
    const auto a = number(std::string_view(spec).substr(0, dash));
    const auto b = number(std::string_view(spec).substr(dash + 1));
    if (a) {
        first = *a;
        if (b) {
            if (*b < first)
                return r; // syntactically invalid: ignored
            last = std::min(*b, last);
        } else if (dash + 1 != spec.size()) {
            return r;
        }
    } else if (b && dash == 0) {
        if (*b == 0 || size == 0)
            first = size; // an empty suffix cannot be satisfied
        else
            first = size - std::min(*b, size);
    } else {
        return r;
    }
    if (first >= size) {
        r.status = 416;
        r.headers = {{"Content-Type", "text/plain"}, {"Content-Range", "bytes */" + std::to_string(size)}};
        r.body = "416 Range Not Satisfiable\n";
        return r;
    }
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                                std::to_string(size));
    r.body = r.body.substr(first, last - first + 1);
    return r;
}

void FaultServer::sendResponse(Connection &c, const RecordedRequest &, const Response &r,
                               const std::optional<Fault> &fault, bool &keepOpen)
{
    const FaultKind kind = fault ? fault->kind : FaultKind::Status;
    std::string body = r.body;
    std::size_t declared = body.size(); // what Content-Length will say
    std::size_t sendUpTo = body.size(); // bytes of `body` sent before the fault's ending
    bool chunked = false;
    bool declare = r.declareLength;

    if (fault) {
        switch (kind) {
        case FaultKind::FlipBytes:
            for (std::size_t i = fault->offset; i < body.size() && i < fault->offset + fault->count; ++i)
                body[i] = char(body[i] ^ 0xFF);
            break;
        case FaultKind::Overlong:
            body.append(fault->extraBytes, 'X');
            sendUpTo = body.size();
            declared = body.size();
            if (fault->framing == Framing::CloseDelimited) {
                declare = false;
                keepOpen = false;
            } else if (fault->framing == Framing::Chunked) {
                declare = false;
                chunked = true;
            }
            break;
        case FaultKind::Reset:
        case FaultKind::Truncate:
            sendUpTo = std::min(fault->afterBytes, body.size());
            keepOpen = false;
            break;
        default:
            break;
        }
    }

    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
    head += "Date: " + httpDate(std::chrono::system_clock::now()) + "\r\n";
    head += "Server: stoa-fault-server\r\n";
    for (const auto &[name, value] : r.headers)
        head += name + ": " + value + "\r\n";
    if (declare)
        head += "Content-Length: " + std::to_string(declared) + "\r\n";
    if (chunked)
        head += "Transfer-Encoding: chunked\r\n";
    if (!keepOpen)
        head += "Connection: close\r\n";
    head += "\r\n";
    if (!c.sendAll(head))
        return void(keepOpen = false);
    if (!r.sendBody)
        return;

    std::string_view out(body.data(), sendUpTo);
    if (fault && kind == FaultKind::Drip) {
        const std::size_t n = std::min(out.size(), fault->dripBytes.value_or(out.size()));
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0 && c.wait(0, int(fault->interval.count())) == Wait::Stop)
                return void(keepOpen = false);
            if (!c.sendAll(out.substr(i, 1)))
                return void(keepOpen = false);
        }
        out.remove_prefix(n);
    }
    if (chunked) {
        // Two chunks, so the overlong tail arrives as a chunk of its own.
        const std::size_t real = r.body.size();
        std::string framed;
        for (auto part : {out.substr(0, real), out.substr(real)})
            if (!part.empty())
                framed += hex(part.size()) + "\r\n" + std::string(part) + "\r\n";
        framed += "0\r\n\r\n";
        if (!c.sendAll(framed))
            keepOpen = false;
        return;
    }
    if (!c.sendAll(out))
        return void(keepOpen = false);

    if (fault && kind == FaultKind::Reset) {
        c.drain();
        const linger hard{1, 0};
        ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        ::close(c.fd); // with linger 0: RST instead of FIN
        c.fd = -1;
    } else if (fault && kind == FaultKind::Truncate) {
        ::shutdown(c.fd, SHUT_WR);
    }
}

} // namespace stoa::testing
