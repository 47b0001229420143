// player/network_info.h — the device's network interfaces and their link state.
//
// Job: list every interface except loopback with its IPv4/IPv6 addresses
// (getifaddrs) and its link state (/sys/class/net/<if>/operstate), for the
// diagnostics screen and /status.
//
// Invariants: never fails (an unreadable source gives fewer rows or
// operstate "unknown"); interfaces sorted by name; an interface without
// addresses still appears when sysfs lists it (a cable pulled shows "down").
#pragma once

#include "player/device_state.h"

#include <string>
#include <vector>

namespace stoa::player {

// `sysClassNet`: normally /sys/class/net.
std::vector<InterfaceInfo> networkInterfaces(const std::string &sysClassNet = "/sys/class/net");

} // namespace stoa::player
