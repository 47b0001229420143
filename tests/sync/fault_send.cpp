// tests/sync/fault_send.cpp — writing an answer, with the body faults.
//
// Job: sendResponse() writes the status line, headers and body, and applies
// the body faults on the way: FlipBytes, Overlong (three framings), Reset,
// Truncate and Drip.
//
// Invariants: a Reset first drains what the kernel still holds, so the
// client really receives the promised bytes before the RST; a fault that
// ends the body early (Reset, Truncate, close-delimited Overlong) also ends
// the connection (keepOpen false); Drip's waits poll the wake pipe.
#include "fault_server_internal.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace stoa::testing {

using detail::hex;
using detail::reason;
using detail::Wait;

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
