// tests/sync/fault_http.cpp — the fault server's HTTP/1.1 plumbing.
//
// Job: a connection's socket waits, reads and writes, and reading one
// request (request line, headers, Content-Length or chunked body,
// Expect: 100-continue) just far enough for what clients of spec §1 send;
// then it logs the request and hands it to chooseResponse/sendResponse.
//
// Invariants: every wait is a poll() that includes the wake pipe, so the
// server's destructor interrupts it; a request is logged once it has been
// read completely and its answer chosen, before any byte of the answer.
#include "fault_server_internal.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <ranges>

namespace stoa::testing {

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

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

} // namespace

namespace detail {

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

} // namespace detail

using detail::lower;
using detail::trim;
using detail::Wait;

Wait FaultServer::Connection::wait(short events, int timeoutMs) const
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

bool FaultServer::Connection::readMore(std::string &buffer) const
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

bool FaultServer::Connection::sendAll(std::string_view data) const
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

void FaultServer::Connection::drain() const
{
    for (int i = 0; i < 200; ++i) {
        int queued = 0;
        if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued == 0)
            return;
        if (wait(0, 5) == Wait::Stop)
            return;
    }
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

} // namespace stoa::testing
