// endpoints/server_address.cpp — the listen address of server.h:
// "ADDR:PORT" parsed and checked (numeric hosts only, "localhost" is
// 127.0.0.1, IPv6 in brackets, port 0..65535) and written back.
// Invariant: a parsed address is one inet_pton accepts, so start() can bind
// it without checking again.
#include "endpoints/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace stoa::endpoints {

std::string ListenAddress::toString() const
{
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> parseListenAddress(std::string_view text)
{
    const std::string quoted = "listen address \"" + std::string(text) + "\"";
    ListenAddress a;
    std::string_view host, port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return fail(ErrorCode::BadAddress, quoted + ": expected [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        a.ipv6 = true;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return fail(ErrorCode::BadAddress, quoted + ": expected ADDR:PORT, e.g. 127.0.0.1:9100");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return fail(ErrorCode::BadAddress, quoted + ": an IPv6 address needs brackets: [ADDR]:PORT");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
        return fail(ErrorCode::BadAddress, quoted + ": the port must be a number 0..65535");
    a.port = std::uint16_t(value);
    a.host = host == "localhost" && !a.ipv6 ? std::string("127.0.0.1") : std::string(host);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(a.ipv6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1)
        return fail(ErrorCode::BadAddress, quoted + (a.ipv6 ? ": not a numeric IPv6 address"
                                                            : ": not a numeric IPv4 address"));
    return a;
}

} // namespace stoa::endpoints
