#include "hub/site_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <ctime>

namespace stoa::hub {
namespace {

std::string httpDate(std::time_t t)
{
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::optional<std::time_t> parseHttpDate(std::string_view text)
{
    std::tm tm{};
    const std::string s(text);
    const char *end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0')
        return std::nullopt;
    return timegm(&tm);
}

bool etagMatches(std::string_view header, const std::string &etag)
{
    if (header == "*")
        return true;
    // A list of (possibly weak) tags; weak comparison is right for GET.
    std::size_t pos = 0;
    while (pos < header.size()) {
        auto comma = header.find(',', pos);
        auto item = header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (item.starts_with("W/"))
            item.remove_prefix(2);
        if (item == etag)
            return true;
        if (comma == std::string_view::npos)
            break;
        pos = comma + 1;
    }
    return false;
}

struct Range {
    std::uint64_t first = 0;
    std::uint64_t last = 0; // inclusive
};

// One "bytes=" range; nullopt for none or several (answered whole);
// `unsatisfiable` when the one range is outside the file.
std::optional<Range> parseRange(std::string_view header, std::uint64_t size, bool &unsatisfiable)
{
    unsatisfiable = false;
    if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos)
        return std::nullopt;
    auto spec = header.substr(6);
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    auto num = [](std::string_view t, std::uint64_t &out) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return ec == std::errc() && p == t.data() + t.size() && !t.empty();
    };
    std::uint64_t a = 0, b = 0;
    const auto left = spec.substr(0, dash), right = spec.substr(dash + 1);
    if (left.empty()) { // suffix: the last b bytes
        if (!num(right, b))
            return std::nullopt;
        if (b == 0 || size == 0) {
            unsatisfiable = true;
            return std::nullopt;
        }
        return Range{size > b ? size - b : 0, size - 1};
    }
    if (!num(left, a))
        return std::nullopt;
    if (right.empty())
        b = size ? size - 1 : 0;
    else if (!num(right, b) || b < a)
        return std::nullopt;
    if (a >= size) {
        unsatisfiable = true;
        return std::nullopt;
    }
    return Range{a, std::min(b, size - 1)};
}

} // namespace

HttpResponse serveFile(const HttpRequest &request, const std::string &path, bool immutable)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HttpResponse::text(404, "not found");
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return HttpResponse::text(404, "not found");
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::string etag;
    if (immutable) {
        const auto slash = path.rfind('/');
        etag = "\"" + path.substr(slash + 1) + "\"";
    } else {
        etag = "\"" + std::to_string(size) + "-" + std::to_string(st.st_mtim.tv_sec) + "."
               + std::to_string(st.st_mtim.tv_nsec) + "\"";
    }
    HttpResponse r;
    r.contentType = path.ends_with(".json") ? "application/json" : "application/octet-stream";
    r.headers = {{"ETag", etag}, {"Last-Modified", httpDate(st.st_mtim.tv_sec)}, {"Accept-Ranges", "bytes"}};
    r.headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");

    const auto inm = request.header("if-none-match");
    bool notModified = false;
    if (!inm.empty())
        notModified = etagMatches(inm, etag);
    else if (const auto ims = request.header("if-modified-since"); !ims.empty())
        if (const auto t = parseHttpDate(ims))
            notModified = st.st_mtim.tv_sec <= *t;
    if (notModified) {
        ::close(fd);
        r.status = 304;
        return r;
    }

    bool unsatisfiable = false;
    std::optional<Range> range;
    const auto ifRange = request.header("if-range");
    if (const auto rh = request.header("range"); !rh.empty() && (ifRange.empty() || ifRange == etag))
        range = parseRange(rh, size, unsatisfiable);
    if (unsatisfiable) {
        ::close(fd);
        r.status = 416;
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        return r;
    }
    r.fd = fd;
    if (range) {
        r.status = 206;
        r.fileOffset = range->first;
        r.fileLength = range->last - range->first + 1;
        r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range->first) + "-"
                                                    + std::to_string(range->last) + "/" + std::to_string(size));
    } else {
        r.status = 200;
        r.fileLength = size;
    }
    return r;
}

} // namespace stoa::hub
