// endpoints/http.h — the small part of HTTP/1.x the local endpoints speak:
// parsing a request head incrementally and serialising a response.
//
// Pure functions over bytes, no sockets (server.h does the I/O), so every
// rejection rule is testable on its own. The rules:
//   * a head (request line + headers) larger than maxHeadBytes → 413;
//   * a request line or header that is not HTTP/1.x syntax → 400, decided as
//     early as possible (binary garbage is rejected on its first bytes, not
//     after a timeout); HTTP/2+ version strings → 505;
//   * a body is never read: Content-Length above maxBodyBytes, or any
//     Transfer-Encoding → 413; a malformed or conflicting Content-Length → 400;
//   * bare LF line ends are accepted (RFC 9112 §2.2), obs-fold is not (400);
//   * the Host header is not required (Prometheus and curl send one anyway).
// Responses always carry Content-Length and "Connection: close".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::endpoints {

struct Request {
    std::string method; // as sent, e.g. "GET"
    std::string path;   // the target up to '?' or '#', e.g. "/metrics"; not percent-decoded
    std::string query;  // after '?', without it; ignored by the built-in routes
};

struct Response {
    int status = 200;
    std::string contentType = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; // extra ones, e.g. {"Allow", "GET, HEAD"}
};

namespace http {

struct ParseLimits {
    std::size_t maxHeadBytes = 8192; // request line + headers + the blank line
    std::size_t maxBodyBytes = 0;    // a declared body larger than this is refused
};

struct ParseResult {
    enum class State {
        NeedMore, // the head is incomplete and nothing is wrong yet
        Complete, // `request` is filled
        Reject,   // answer `status` and close
    };
    State state = State::NeedMore;
    Request request;
    int status = 0;     // with Reject: 400, 413 or 505
    std::string reason; // with Reject: what was wrong, for the body and the log
};

// `received` is every byte read from the connection so far.
ParseResult parseHead(std::string_view received, const ParseLimits &limits);

// The status line, headers and (unless headOnly) the body.
std::string serialize(const Response &response, bool headOnly);

// "OK", "Not Found", ...; "Unknown" for codes this module never sends.
std::string_view reasonPhrase(int status);

// A plain-text response "<status> <reason phrase>: <detail>\n".
Response errorResponse(int status, std::string_view detail = {});

} // namespace http
} // namespace stoa::endpoints
