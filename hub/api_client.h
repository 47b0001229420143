// hub/api_client.h — the operator API from the command line: `stoa-hub`
// subcommands for scripts call a running hub over HTTP(S) (docs/hub.md).
//
// Job: one request with the operator's token, the answer's status and body.
// Invariants: the token is read from a file or the environment, never from
// the command line (it would show in `ps`), and never printed; TLS is
// verified (the system store, or --ca-file).
#pragma once

#include <expected>
#include <string>

namespace stoa::hub {

struct ApiTarget {
    std::string hub;    // base URL, e.g. https://hub.example.com
    std::string token;  // operator token
    std::string caFile; // extra CA bundle; empty: the system store
};

struct ApiAnswer {
    long status = 0;
    std::string body;
};

// `body` is sent when not empty (or for PUT/POST), with `contentType`.
std::expected<ApiAnswer, std::string> callApi(const ApiTarget &target, const std::string &method, const std::string &path,
                                              const std::string &body = {},
                                              const std::string &contentType = "application/json");

} // namespace stoa::hub
