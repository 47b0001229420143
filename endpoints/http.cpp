// endpoints/http.cpp — see http.h.
#include "endpoints/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace stoa::endpoints::http {

namespace {

using State = ParseResult::State;

ParseResult reject(int status, std::string reason)
{
    ParseResult r;
    r.state = State::Reject;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// RFC 9110 tchar.
bool isTchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
}

bool isToken(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return isTchar(c); });
}

// Visible ASCII only: request targets are never raw UTF-8 or controls.
bool isTarget(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

// Field values: HTAB, SP, VCHAR and obs-text; no other controls.
bool isFieldValue(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7f);
    });
}

std::string_view trimOws(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

std::string_view chompCr(std::string_view line)
{
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

// Splits "METHOD SP target SP HTTP/x.y"; fills `request` or returns a rejection.
std::optional<ParseResult> parseRequestLine(std::string_view line, Request &request)
{
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return reject(400, "malformed request line");
    const auto method = line.substr(0, sp1);
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (!isToken(method))
        return reject(400, "malformed method");
    if (!isTarget(target))
        return reject(400, "malformed request target");
    if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.'
        || !std::isdigit(static_cast<unsigned char>(version[5]))
        || !std::isdigit(static_cast<unsigned char>(version[7])))
        return reject(400, "malformed HTTP version");
    if (version[5] != '1')
        return reject(505, "only HTTP/1.x is served");

    // absolute-form (a proxy-style request): keep the path part.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
            target.remove_prefix(scheme.size());
            const auto slash = target.find('/');
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        }
    }
    if (target.front() != '/')
        return reject(400, "request target is not a path");
    if (const auto hash = target.find('#'); hash != std::string_view::npos)
        target = target.substr(0, hash);
    const auto q = target.find('?');
    request.method = std::string(method);
    request.path = std::string(target.substr(0, q));
    request.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    return std::nullopt;
}

} // namespace

ParseResult parseHead(std::string_view received, const ParseLimits &limits)
{
    // Reject garbage on the first bytes of the request line: before its line
    // end arrives, everything must be visible ASCII, spaces or a final CR.
    const auto firstLf = received.find('\n');
    const auto firstLine = received.substr(0, firstLf);
    for (std::size_t i = 0; i < firstLine.size(); ++i) {
        const auto c = static_cast<unsigned char>(firstLine[i]);
        const bool finalCr = c == '\r' && i + 1 == firstLine.size();
        if ((c < 0x20 || c >= 0x7f) && !finalCr)
            return reject(400, "request line contains control or non-ASCII bytes");
    }
    if (firstLf != std::string_view::npos) {
        Request scratch;
        if (auto r = parseRequestLine(chompCr(firstLine), scratch))
            return *r;
    } else if (!firstLine.empty() && firstLine.find(' ') == std::string_view::npos
               && !isToken(chompCr(firstLine))) {
        return reject(400, "malformed method");
    }

    // The head ends at the first empty line (CRLF CRLF, or bare LFs).
    std::size_t headEnd = std::string_view::npos;
    for (std::size_t pos = received.find('\n'); pos != std::string_view::npos;
         pos = received.find('\n', pos + 1)) {
        const std::size_t next = pos + 1;
        if (next < received.size() && received[next] == '\n') {
            headEnd = next + 1;
            break;
        }
        if (next + 1 < received.size() && received[next] == '\r' && received[next + 1] == '\n') {
            headEnd = next + 2;
            break;
        }
    }
    if (headEnd == std::string_view::npos) {
        if (received.size() > limits.maxHeadBytes)
            return reject(413, "request head larger than " + std::to_string(limits.maxHeadBytes)
                                   + " bytes");
        return {};
    }
    if (headEnd > limits.maxHeadBytes)
        return reject(413, "request head larger than " + std::to_string(limits.maxHeadBytes)
                               + " bytes");

    ParseResult result;
    result.state = State::Complete;
    if (auto r = parseRequestLine(chompCr(firstLine), result.request))
        return *r;

    std::optional<unsigned long long> contentLength;
    std::string_view rest = received.substr(firstLf + 1, headEnd - firstLf - 1);
    while (!rest.empty()) {
        const auto lf = rest.find('\n');
        const auto line = chompCr(rest.substr(0, lf));
        rest.remove_prefix(lf + 1);
        if (line.empty())
            break; // the blank line ending the head
        if (line.front() == ' ' || line.front() == '\t')
            return reject(400, "obsolete header line folding");
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || !isToken(line.substr(0, colon)))
            return reject(400, "malformed header line");
        const auto name = line.substr(0, colon);
        const auto value = trimOws(line.substr(colon + 1));
        if (!isFieldValue(value))
            return reject(400, "control bytes in a header value");
        if (iequals(name, "Transfer-Encoding"))
            return reject(413, "request bodies are not accepted");
        if (iequals(name, "Content-Length")) {
            unsigned long long n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc() || end != value.data() + value.size())
                return reject(400, "malformed Content-Length");
            if (contentLength && *contentLength != n)
                return reject(400, "conflicting Content-Length headers");
            contentLength = n;
        }
    }
    if (contentLength && *contentLength > limits.maxBodyBytes)
        return reject(413, "request bodies are not accepted");
    return result;
}

std::string_view reasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

std::string serialize(const Response &response, bool headOnly)
{
    std::string out;
    out.reserve(160 + (headOnly ? 0 : response.body.size()));
    out += "HTTP/1.1 ";
    out += std::to_string(response.status);
    out += ' ';
    out += reasonPhrase(response.status);
    out += "\r\nContent-Type: ";
    out += response.contentType;
    out += "\r\nContent-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\nConnection: close\r\nCache-Control: no-store\r\n";
    for (const auto &[name, value] : response.headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    out += "\r\n";
    if (!headOnly)
        out += response.body;
    return out;
}

Response errorResponse(int status, std::string_view detail)
{
    Response r;
    r.status = status;
    r.body = std::to_string(status) + " " + std::string(reasonPhrase(status));
    if (!detail.empty()) {
        r.body += ": ";
        r.body += detail;
    }
    r.body += '\n';
    return r;
}

} // namespace stoa::endpoints::http
