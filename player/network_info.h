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

#include <string>
#include <vector>

namespace stoa::player {

// One network interface (loopback excluded).
struct InterfaceInfo {
    std::string name;              // "eth0", "wlan0"
    std::string operState;         // /sys/class/net/<if>/operstate: "up", "down", "dormant", "unknown", ...
    std::vector<std::string> ipv4; // "192.168.1.20/24"
    std::vector<std::string> ipv6; // "fe80::1/64" (scope id dropped)
};

// `sysClassNet`: normally /sys/class/net.
std::vector<InterfaceInfo> networkInterfaces(const std::string &sysClassNet = "/sys/class/net");

} // namespace stoa::player
