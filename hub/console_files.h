// hub/console_files.h — serving the operator console's static files
// (docs/console.md) and the browser-facing headers of every operator answer.
//
// Job: find the console directory (an option, else beside the executable as
// installed or in the build tree, else the configured install prefix), and
// answer GET /console/FILE from it with the right Content-Type, validators
// (ETag, 304) and `Cache-Control: no-cache` (file names carry no version,
// so a browser must revalidate, and a new hub's files are seen at once).
// Invariants:
//  - only a path of plain segments is served: each segment 1-128 of
//    [A-Za-z0-9._-], never starting with '.', the last one with a known
//    extension; anything else (.., hidden files, unknown types) is 404
//    without touching the file system, so no request reaches outside the
//    directory;
//  - every console answer carries a strict Content-Security-Policy (scripts
//    and styles only from this origin, no inline script, no framing),
//    X-Frame-Options: DENY, X-Content-Type-Options: nosniff and
//    Referrer-Policy: no-referrer.
#pragma once

#include "hub/http_server.h"

#include <string>
#include <string_view>

namespace stoa::hub {

// Where the console's files are when no option names a directory:
// EXE_DIR/../share/stoa-hub/console when it exists (an installed tree under
// any prefix, and the build tree, which mirrors it), else the directory the
// build was configured to install to.
std::string defaultConsoleDir();

// The file `relative` (the path below /console/, "" for index.html) from
// `dir`, or 404.
HttpResponse serveConsoleFile(const HttpRequest &request, const std::string &dir, std::string_view relative);

// "/" and "/console": a redirect to "/console/".
HttpResponse consoleRedirect();

// The headers every answer the console's pages read should carry
// (nosniff, no caching of operator data, no referrer).
void addApiBrowserHeaders(HttpResponse &response);

// The Content-Type for a console file name; empty when the type is not served.
std::string consoleContentType(std::string_view name);

} // namespace stoa::hub
