// tools/provision.h — first-boot provisioning from the SD card's boot partition.
//
// Installers prepare cards by dropping files on the FAT boot partition
// (/boot/firmware on bookworm, /boot before it). On start-up (the
// stoa-provision unit, before the player and the agent) each file found is
// checked, installed atomically into /etc/stoa, and renamed `<name>.applied`
// on the boot partition so it is taken over once and the installer can see
// it happened. A file that does not pass its check is renamed
// `<name>.rejected` with the reason in `<name>.rejected.txt` beside it, and
// the installed configuration stays as it was.
//
//   boot file        installed as            checked by
//   stoa.conf        /etc/stoa/stoa.conf     the agent's config parser (keys, values)
//   stoa-root.pub    /etc/stoa/root.pub      PEM Ed25519 public keys
//   stoa-token       /etc/stoa/token         non-empty single line; mode 0640, group stoa
//   stoa-ca.pem      /etc/stoa/ca.pem        PEM X.509 certificates (the hub's TLS CA, ca_file)
//
// stoa.conf is installed last: the files it names are in place before it is.
// Invariants: /etc/stoa never holds a half-written file (temp + fsync +
// rename); a replaced stoa.conf is kept as stoa.conf.old; nothing is taken
// from the boot partition that failed its check.
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <vector>

namespace stoa::tools {

struct ProvisionPaths {
    std::vector<std::filesystem::path> bootDirs{"/boot/firmware", "/boot"}; // first existing one with files wins
    std::filesystem::path etcDir{"/etc/stoa"};
    std::string group = "stoa"; // owner group of the installed token (if the group exists)
};

struct ProvisionReport {
    std::vector<std::string> applied;  // "stoa.conf -> /etc/stoa/stoa.conf"
    std::vector<std::string> rejected; // "stoa.conf: /boot/firmware/stoa.conf:3: unknown key 'sever'"
};

// Errors are I/O failures that leave things as they were; rejected files are
// part of the report, not an error.
std::expected<ProvisionReport, std::string> provision(const ProvisionPaths &paths);

} // namespace stoa::tools
