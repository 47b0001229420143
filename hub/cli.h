// hub/cli.h — the `stoa-hub` command line (fixed: docs/hub.md; other
// people's harnesses use it).
//
//   stoa-hub serve --data-dir DIR --listen ADDR:PORT [--database URL] [--public-url URL]
//   stoa-hub device add ID --data-dir DIR [--database URL]     token alone on the last line
//            [--provision BUNDLE [--public-url URL] [--root-key FILE] [--ca-file FILE] [--etc DIR] [--force]]
//                                      and the files `stoa provision` takes over (provisioning.h)
//   stoa-hub device revoke ID --data-dir DIR [--database URL]
//   stoa-hub operator add NAME --role admin|editor|viewer --data-dir DIR [--database URL]
//
// Job: parse, run, and say what went wrong on stderr with an exit code
// (0 ok, 1 refused — a conflict, an unknown id —, 2 usage, 3 the database
// or the network is unusable). `serve` runs until SIGTERM/SIGINT.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace stoa::hub {

// What `serve` tells its service manager, plugged in by the executable
// (hub/main.cpp: systemd's notify socket and watchdog; the hub library does
// not know the platform edge). Unset members: nothing to tell.
struct ServeHooks {
    // Serving: `selfUrl` is this hub's /healthz as it reaches itself,
    // `shown` its address for a status line.
    std::function<void(const std::string &selfUrl, const std::string &shown)> serving;
    std::function<void()> stopping; // SIGTERM/SIGINT received, before the graceful stop
};

int runCli(const std::vector<std::string> &args, const ServeHooks &hooks = {});

// Whether a hub at `url` answers HTTP at all, within 10 s: any status counts
// (a 503 while its database is away is an answer, and restarting it would
// not bring the database back); a hung HTTP layer does not answer. For a
// service manager's watchdog.
bool answersHttp(const std::string &url);
const char *hubUsage();

} // namespace stoa::hub
