// tests/sync/fault_server_internal.h — what the fault server's files share.
//
// Job: the pieces of FaultServer (fault_server.h) that more than one of its
// files needs: a connection's socket plumbing, the chosen answer, the
// logging category and a few string helpers. Only fault_*.cpp include it;
// tests use fault_server.h alone.
//
// The files by concern:
//   fault_server.cpp    lifecycle, configuration, the request log, accepting
//   fault_http.cpp      the HTTP/1.1 plumbing: sockets, reading a request
//   fault_factories.cpp the Fault constructors and choosing the answer
//   fault_static.cpp    nginx-like static files (validators, ranges)
//   fault_send.cpp      writing the answer, with the body faults applied
//
// Invariants: a Connection belongs to its own thread; only `done` is read
// by another (the acceptor, to reap it). Every wait polls the wake pipe too,
// so the destructor interrupts it.
#pragma once

#include "fault_server.h"

#include <QLoggingCategory>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

Q_DECLARE_LOGGING_CATEGORY(lcFaultServer)

namespace stoa::testing {

namespace detail {

enum class Wait { Ready, Timeout, Stop };

std::string lower(std::string s);
std::string trim(std::string_view s); // spaces, tabs (and a trailing CR) off both ends
std::string hex(std::uint64_t v);     // lowercase, no prefix
const char *reason(int status);       // the reason phrase for a status line

} // namespace detail

struct FaultServer::Connection {
    int fd = -1;
    std::uint64_t serial = 0;
    int wakeFd = -1;
    std::atomic<bool> done{false};
    std::thread thread;

    // Waits for `events` on the socket, the wake pipe, or the timeout (-1: none).
    detail::Wait wait(short events, int timeoutMs) const;
    // Appends what arrives to `buffer`; false on close, error or stop.
    bool readMore(std::string &buffer) const;
    bool sendAll(std::string_view data) const;
    // Waits (bounded) until the kernel sent everything queued, so a reset
    // that follows cannot discard bytes the fault promised to deliver.
    void drain() const;
};

struct FaultServer::Response {
    int status = 404;
    Headers headers;
    std::string body;
    bool sendBody = true; // false for HEAD, 204 and 304: headers only
    bool declareLength = true;
};

} // namespace stoa::testing
