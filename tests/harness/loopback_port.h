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
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stoa::testing {

// 0 when no socket could be bound.
inline std::uint16_t freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

} // namespace stoa::testing
