// hub/site_files.h — answering GETs from the signed site tree on disk.
//
// Job: the §1 GETs when the hub serves the site itself: a file answered
// with a validator (ETag, Last-Modified), 304 for a matching
// If-None-Match / If-Modified-Since, and a single byte range (206 / 416)
// so a device resumes an interrupted blob download.
// Invariants: the path is built by the caller from checked parts (never a
// raw URL); the file is opened once and answered from that descriptor, so
// an atomic rename in the site during the answer cannot mix two versions.
#pragma once

#include "hub/http_server.h"

#include <string>

namespace stoa::hub {

// `immutable`: a blob, named by its digest (the ETag is the digest, and
// caches may keep it for good).
HttpResponse serveFile(const HttpRequest &request, const std::string &path, bool immutable);

} // namespace stoa::hub
