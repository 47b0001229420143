// sync/device_id.h — this device's id (protocol §1: 1-64 of [A-Za-z0-9._-]).
//
// An explicit id (flag or config) wins; otherwise /etc/machine-id, which is
// stable across reboots. (The Raspberry Pi board serial comes with the
// platform layer.)
#pragma once

#include <expected>
#include <string>

namespace stoa::sync {

bool isValidDeviceId(const std::string &id);
std::expected<std::string, std::string> resolveDeviceId(const std::string &configured,
                                                        const std::string &machineIdFile = "/etc/machine-id");

} // namespace stoa::sync
