// tests/harness/raw_http_client.h — a deliberately dumb HTTP client over raw
// POSIX sockets for the endpoint tests and the tests that ask a real
// stoa-syncd or stoa-player over HTTP: it sends exactly the bytes a test
// gives it (garbage included) and reads the answer until the server closes.
// Blocking calls with poll() deadlines, so a misbehaving server fails a test
// instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::endpoints::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers; // names lowercased
    std::string body;
    std::string raw;
};

// A connected blocking socket to 127.0.0.1:port (or ::1), or -1.
inline int connectTo(std::uint16_t port, bool ipv6 = false)
{
    const int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc;
    if (ipv6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_loopback;
        rc = ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    }
    if (rc != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline bool sendAll(int fd, std::string_view bytes)
{
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes.remove_prefix(std::size_t(n));
    }
    return true;
}

// Reads until EOF; nullopt if the deadline passes first (a connection reset
// after some bytes still returns what arrived).
inline std::optional<std::string> readToEof(int fd, std::chrono::milliseconds timeout)
{
    std::string out;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, int(left.count()));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char buf[8192];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return out;
        out.append(buf, std::size_t(n));
    }
}

inline Reply parseReply(std::string raw)
{
    Reply r;
    r.raw = raw;
    const auto headEnd = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.1 ", 0) != 0 || headEnd == std::string::npos)
        return r;
    r.status = std::stoi(raw.substr(9, 3));
    std::size_t pos = raw.find("\r\n") + 2;
    while (pos < headEnd) {
        const auto eol = raw.find("\r\n", pos);
        const auto line = raw.substr(pos, eol - pos);
        const auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (auto &ch : name)
            ch = char(std::tolower(static_cast<unsigned char>(ch)));
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
            value.erase(0, 1);
        r.headers[name] = value;
        pos = eol + 2;
    }
    r.body = raw.substr(headEnd + 4);
    return r;
}

// Sends `bytes` on a new connection and reads the answer to EOF. status 0:
// no connection, no answer in time, or not HTTP.
inline Reply roundTrip(std::uint16_t port, std::string_view bytes,
                      std::chrono::milliseconds timeout = 5000ms, bool ipv6 = false)
{
    const int fd = connectTo(port, ipv6);
    if (fd < 0)
        return {};
    sendAll(fd, bytes); // a server that answers early may close before all is sent
    auto raw = readToEof(fd, timeout);
    ::close(fd);
    return raw ? parseReply(std::move(*raw)) : Reply{};
}

inline Reply get(std::uint16_t port, std::string_view path, std::string_view method = "GET")
{
    std::string req = std::string(method) + " " + std::string(path)
                      + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: stoa-test\r\n\r\n";
    return roundTrip(port, req);
}

} // namespace stoa::endpoints::testing
