// hub/cli.h — the `stoa-hub` command line (fixed: docs/hub.md; other
// people's harnesses use it).
//
//   stoa-hub serve --data-dir DIR --listen ADDR:PORT [--database URL] [--public-url URL]
//   stoa-hub device add ID --data-dir DIR [--database URL]     token alone on the last line
//            [--provision BUNDLE --public-url URL [--root-key FILE] [--etc DIR] [--force]]
//                                      and the files `stoa provision` takes over (provisioning.h)
//   stoa-hub device revoke ID --data-dir DIR [--database URL]
//   stoa-hub operator add NAME --role admin|editor|viewer --data-dir DIR [--database URL]
//
// Job: parse, run, and say what went wrong on stderr with an exit code
// (0 ok, 1 refused — a conflict, an unknown id —, 2 usage, 3 the database
// or the network is unusable). `serve` runs until SIGTERM/SIGINT.
#pragma once

#include <string>
#include <vector>

namespace stoa::hub {

int runCli(const std::vector<std::string> &args);
const char *hubUsage();

} // namespace stoa::hub
