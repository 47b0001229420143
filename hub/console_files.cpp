// hub/console_files.cpp — the console's static files (console_files.h).
#include "hub/console_files.h"

#include "hub/site_files.h"


#include <filesystem>
#include <system_error>

#ifndef STOA_HUB_CONSOLE_INSTALL_DIR
#define STOA_HUB_CONSOLE_INSTALL_DIR "/usr/share/stoa-hub/console"
#endif

namespace stoa::hub {
namespace {

// Scripts and styles from this origin only: no inline script or style, no
// eval, so markup that slipped into a page (a device's name) cannot run.
// Images also from blob: (screenshots are fetched with the session token
// and shown from a blob URL) and data: (none today; cheap icons later).
constexpr const char *kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

bool plainSegment(std::string_view s)
{
    if (s.empty() || s.size() > 128 || s.front() == '.')
        return false;
    for (const char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                        || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

void addPageHeaders(HttpResponse &r)
{
    r.headers.emplace_back("Content-Security-Policy", kCsp);
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

} // namespace

std::string consoleContentType(std::string_view name)
{
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos)
        return {};
    const auto ext = name.substr(dot + 1);
    // JavaScript modules must be served as JavaScript: browsers refuse a
    // module script of any other type (and nosniff enforces it for all).
    if (ext == "html") return "text/html; charset=utf-8";
    if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "png") return "image/png";
    if (ext == "ico") return "image/x-icon";
    if (ext == "json") return "application/json";
    if (ext == "webmanifest") return "application/manifest+json";
    if (ext == "txt") return "text/plain; charset=utf-8";
    return {};
}

std::string defaultConsoleDir()
{
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto beside = exe.parent_path().parent_path() / "share" / "stoa-hub" / "console";
        if (std::filesystem::is_regular_file(beside / "index.html", ec))
            return beside.string();
    }
    return STOA_HUB_CONSOLE_INSTALL_DIR;
}

HttpResponse consoleRedirect()
{
    HttpResponse r = HttpResponse::text(302, "the console is at /console/\n");
    r.headers.emplace_back("Location", "/console/");
    addPageHeaders(r);
    return r;
}

HttpResponse serveConsoleFile(const HttpRequest &request, const std::string &dir, std::string_view relative)
{
    std::string rel(relative.empty() ? std::string_view("index.html") : relative);
    auto notFound = [] {
        HttpResponse r = HttpResponse::text(404, "no such console file\n");
        addPageHeaders(r);
        return r;
    };
    // Check every segment before the file system is asked anything.
    std::string_view rest = rel;
    std::string_view last;
    while (true) {
        const auto slash = rest.find('/');
        last = rest.substr(0, slash);
        if (!plainSegment(last))
            return notFound();
        if (slash == std::string_view::npos)
            break;
        rest.remove_prefix(slash + 1);
    }
    const std::string type = consoleContentType(last);
    if (type.empty())
        return notFound();
    HttpResponse r = serveFile(request, dir + "/" + rel, false);
    if (r.status == 404) {
        r = HttpResponse::text(404, relative.empty() ? "the console's files are not installed in " + dir
                                                           + " (stoa-hub serve --console-dir DIR)\n"
                                                     : std::string("no such console file\n"));
        addPageHeaders(r);
        return r;
    }
    r.contentType = type;
    // serveFile sets "no-cache" for a file that is not content-addressed:
    // revalidate every time (ETag / Last-Modified answer 304), because a
    // module's name does not change when a new hub ships new code.
    addPageHeaders(r);
    return r;
}

void addApiBrowserHeaders(HttpResponse &response)
{
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    // Operator data is per session: never stored by a browser or proxy.
    bool hasCacheControl = false;
    for (const auto &[name, value] : response.headers)
        if (name == "Cache-Control")
            hasCacheControl = true;
    if (!hasCacheControl)
        response.headers.emplace_back("Cache-Control", "no-store");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

} // namespace stoa::hub
