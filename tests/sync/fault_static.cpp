// tests/sync/fault_static.cpp — the fault server's static files, like nginx.
//
// Job: answer GET/HEAD below the document root as nginx does for the
// fleet's files: ETag and Last-Modified validators, conditional GET
// (If-None-Match over If-Modified-Since, RFC 9110 §13.2.2), one byte range
// (206/416, If-Range), 404 for anything missing or outside the root.
//
// Invariants: a path with ".." or a NUL never leaves the root; the ETag
// changes whenever the file's size or mtime does; several ranges or a
// stale If-Range get the whole file, never a multipart answer.
#include "fault_server_internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <ranges>

namespace stoa::testing {

namespace {

using detail::hex;
using detail::trim;

// IMF-fixdate → seconds since the epoch; nothing for anything else.
std::optional<std::time_t> parseHttpDate(const std::string &s)
{
    static constexpr const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wday[4] = {}, mon[4] = {};
    std::tm tm{};
    if (std::sscanf(s.c_str(), "%3s, %d %3s %d %d:%d:%d GMT", wday, &tm.tm_mday, mon, &tm.tm_year,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
        return std::nullopt;
    const auto m = std::find_if(std::begin(months), std::end(months),
                                [&](const char *name) { return std::string_view(name) == mon; });
    if (m == std::end(months))
        return std::nullopt;
    tm.tm_mon = int(m - std::begin(months));
    tm.tm_year -= 1900;
    return timegm(&tm);
}

bool etagMatches(std::string_view headerValue, const std::string &etag)
{
    // Weak comparison (RFC 9110 §13.1.2): W/ prefixes do not matter.
    auto strip = [](std::string t) { return t.rfind("W/", 0) == 0 ? t.substr(2) : t; };
    for (const auto part : std::views::split(headerValue, ',')) {
        const std::string item = trim(std::string_view(part.begin(), part.end()));
        if (item == "*" || strip(item) == strip(etag))
            return true;
    }
    return false;
}

// The whole file, or nothing.
std::optional<std::string> readFile(const std::filesystem::path &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out;
    char chunk[65536];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof chunk)) > 0)
        out.append(chunk, std::size_t(n));
    ::close(fd);
    return n < 0 ? std::nullopt : std::optional(std::move(out));
}

} // namespace

// nginx-like static files: validators, conditional GET, single byte ranges.
FaultServer::Response FaultServer::staticResponse(const RecordedRequest &req, const std::filesystem::path &root)
{
    Response r;
    r.headers = {{"Content-Type", "text/plain"}};
    r.body = "404 Not Found\n";
    if (req.path.empty() || req.path.front() != '/' || req.path.find('\0') != std::string::npos)
        return r;
    const std::filesystem::path rel = std::filesystem::path(req.path.substr(1)).lexically_normal();
    for (const auto &part : rel)
        if (part == "..")
            return r;
    const std::filesystem::path file = root / rel;
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return r;
    std::optional<std::string> read = readFile(file);
    if (!read)
        return r;
    std::string content = std::move(*read);

    const std::uint64_t mtimeNs = std::uint64_t(st.st_mtim.tv_sec) * 1000000000ull + std::uint64_t(st.st_mtim.tv_nsec);
    const std::string etag = "\"" + hex(content.size()) + "-" + hex(mtimeNs) + "\"";
    const std::string lastModified = httpDate(std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec));
    const std::string type = file.extension() == ".json" ? "application/json"
                             : file.extension() == ".html" ? "text/html"
                                                           : "application/octet-stream";
    r.headers = {{"Content-Type", type}, {"ETag", etag}, {"Last-Modified", lastModified}, {"Accept-Ranges", "bytes"}};

    // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
    const std::string inm = req.header("if-none-match");
    bool notModified = false;
    if (!inm.empty()) {
        notModified = etagMatches(inm, etag);
    } else if (const auto ims = parseHttpDate(req.header("if-modified-since"))) {
        notModified = st.st_mtim.tv_sec <= *ims;
    }
    if (notModified) {
        r.status = 304;
        r.body.clear();
        return r;
    }

    r.status = 200;
    r.body = std::move(content);
    const std::string range = req.header("range");
    const std::string ifRange = req.header("if-range");
    if (range.rfind("bytes=", 0) != 0 || range.find(',') != std::string::npos ||
        (!ifRange.empty() && ifRange != etag && ifRange != lastModified))
        return r; // no, several or stale ranges: the whole file, as nginx does
    const std::string spec = trim(range.substr(6));
    const auto dash = spec.find('-');
    if (dash == std::string::npos)
        return r;
    auto number = [](std::string_view s) -> std::optional<std::uint64_t> {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty() ? std::optional(v) : std::nullopt;
    };
    const std::uint64_t size = r.body.size();
    std::uint64_t first = 0, last = size ? size - 1 : 0;
    const auto a = number(std::string_view(spec).substr(0, dash));
    const auto b = number(std::string_view(spec).substr(dash + 1));
    if (a) {
        first = *a;
        if (b) {
            if (*b < first)
                return r; // syntactically invalid: ignored
            last = std::min(*b, last);
        } else if (dash + 1 != spec.size()) {
            return r;
        }
    } else if (b && dash == 0) {
        if (*b == 0 || size == 0)
            first = size; // an empty suffix cannot be satisfied
        else
            first = size - std::min(*b, size);
    } else {
        return r;
    }
    if (first >= size) {
        r.status = 416;
        r.headers = {{"Content-Type", "text/plain"}, {"Content-Range", "bytes */" + std::to_string(size)}};
        r.body = "416 Range Not Satisfiable\n";
        return r;
    }
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                                std::to_string(size));
    r.body = r.body.substr(first, last - first + 1);
    return r;
}

} // namespace stoa::testing
