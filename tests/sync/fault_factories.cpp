// tests/sync/fault_factories.cpp — making faults and choosing the answer.
//
// Job: Fault's named constructors (fault_server.h), and chooseResponse():
// which answer a request gets — a matching fault's, a configured response,
// a static file, or 404 — and whether a body goes with it.
//
// Invariants: faults are matched in the order they were added and the
// first with uses left is consumed, under the server's lock, so two
// connections can never both consume a fault's last use; the fault's answer
// replaces the whole response for Status, CaptivePortal, ReplaceBody and
// Hang, while body faults act later on the normal answer (fault_send.cpp).
#include "fault_server_internal.h"

namespace stoa::testing {

Fault Fault::statusCode(int code, Headers extra, std::string text)
{
    Fault f;
    f.kind = FaultKind::Status;
    f.status = code;
    f.headers = std::move(extra);
    f.body = text.empty() ? std::to_string(code) + " " + detail::reason(code) + "\n" : std::move(text);
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

} // namespace stoa::testing
