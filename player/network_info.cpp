// player/network_info.cpp — interfaces via getifaddrs + sysfs (see network_info.h).
#include "player/network_info.h"

#include <QDir>
#include <QFile>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <map>

namespace stoa::player {

namespace {

int prefixLength(const sockaddr *mask)
{
    if (!mask)
        return -1;
    int bits = 0;
    if (mask->sa_family == AF_INET) {
        bits = std::popcount(reinterpret_cast<const sockaddr_in *>(mask)->sin_addr.s_addr);
    } else if (mask->sa_family == AF_INET6) {
        const auto *m = reinterpret_cast<const sockaddr_in6 *>(mask);
        for (unsigned char byte : m->sin6_addr.s6_addr)
            bits += std::popcount(static_cast<unsigned>(byte));
    } else {
        return -1;
    }
    return bits;
}

std::string addressText(const sockaddr *addr, const sockaddr *mask)
{
    char buf[INET6_ADDRSTRLEN] = {};
    const void *raw = addr->sa_family == AF_INET
                          ? static_cast<const void *>(&reinterpret_cast<const sockaddr_in *>(addr)->sin_addr)
                          : static_cast<const void *>(&reinterpret_cast<const sockaddr_in6 *>(addr)->sin6_addr);
    if (!inet_ntop(addr->sa_family, raw, buf, sizeof buf))
        return {};
    std::string text = buf;
    if (const int prefix = prefixLength(mask); prefix >= 0)
        text += "/" + std::to_string(prefix);
    return text;
}

std::string operState(const std::string &sysClassNet, const std::string &name)
{
    QFile f(QString::fromStdString(sysClassNet + "/" + name + "/operstate"));
    if (!f.open(QIODevice::ReadOnly))
        return "unknown";
    const QByteArray state = f.readAll().trimmed();
    return state.isEmpty() ? "unknown" : state.toStdString();
}

} // namespace

std::vector<InterfaceInfo> networkInterfaces(const std::string &sysClassNet)
{
    std::map<std::string, InterfaceInfo> byName;
    std::vector<std::string> loopbacks{"lo"};
    ifaddrs *list = nullptr;
    if (getifaddrs(&list) == 0) {
        for (ifaddrs *a = list; a; a = a->ifa_next) {
            if (!a->ifa_name)
                continue;
            if (a->ifa_flags & IFF_LOOPBACK) {
                loopbacks.emplace_back(a->ifa_name);
                continue;
            }
            InterfaceInfo &info = byName[a->ifa_name];
            info.name = a->ifa_name;
            if (!a->ifa_addr)
                continue;
            if (a->ifa_addr->sa_family == AF_INET)
                info.ipv4.push_back(addressText(a->ifa_addr, a->ifa_netmask));
            else if (a->ifa_addr->sa_family == AF_INET6)
                info.ipv6.push_back(addressText(a->ifa_addr, a->ifa_netmask));
        }
        freeifaddrs(list);
    }
    // sysfs lists interfaces that have no address (a pulled cable, Wi-Fi not joined).
    const QDir dir(QString::fromStdString(sysClassNet));
    for (const QString &entry : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::System)) {
        const std::string name = entry.toStdString();
        if (!byName.contains(name))
            byName[name].name = name;
    }
    std::vector<InterfaceInfo> out;
    for (auto &[name, info] : byName) {
        if (std::find(loopbacks.begin(), loopbacks.end(), name) != loopbacks.end())
            continue;
        info.operState = operState(sysClassNet, name);
        out.push_back(std::move(info));
    }
    return out;
}

} // namespace stoa::player
