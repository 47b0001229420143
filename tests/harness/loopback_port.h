// tests/harness/loopback_port.h — a loopback TCP port for a test's server or
// for a "nobody listens here" address, shared by the tests of several modules
// (nginx and PostgreSQL runners, HAProxy, stoa-syncd pointed at a dead server,
// players given an unreachable stream).
//
// Invariant: the port was free when asked (bound to 127.0.0.1, read, closed
// again); whoever binds it next may find it taken in the meantime, so a
// runner that binds it checks its own bind and may ask again.
#pragma once

#include <cstdint>
#include <fstream>
#include <random>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stoa::testing {

// Binds a TCP socket to 127.0.0.1:`port` (0: one the kernel picks) and
// closes it again: the port it had, or 0 when it could not be bound.
inline std::uint16_t probeLoopbackPort(std::uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    socklen_t len = sizeof addr;
    std::uint16_t bound = 0;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0)
        bound = ntohs(addr.sin_port);
    ::close(fd);
    return bound;
}

// 0 when no socket could be bound.
inline std::uint16_t freeLoopbackPort() { return probeLoopbackPort(0); }

// A free loopback port below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), for a server that is stopped
// and started again on the same port (the PostgreSQL runner's restart()).
// A port from bind(0) lies inside that range: while its server is down any
// outgoing connection may be given it as its local port, and a client
// retrying 127.0.0.1:PORT meanwhile (the hub reconnecting to its database)
// can even connect to itself on it (TCP simultaneous open), so the server
// cannot bind it again. Below the range neither can happen. 0 when none of
// the tries was free.
inline std::uint16_t freeLoopbackPortBelowEphemeral()
{
    int low = 32768;
    if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range)
        range >> low;
    if (low <= 10000)
        return freeLoopbackPort(); // an unusual range: no room below it
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> pick(10000, low - 1);
    for (int attempt = 0; attempt < 64; ++attempt)
        if (const std::uint16_t port = probeLoopbackPort(static_cast<std::uint16_t>(pick(rng))))
            return port;
    return 0;
}

} // namespace stoa::testing
