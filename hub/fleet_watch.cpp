#include "hub/fleet_watch.h"

#include <set>

namespace stoa::hub {

namespace {
constexpr std::int64_t kHourMs = 3600 * 1000;
}

const char *eventName(FleetEvent::Kind kind)
{
    switch (kind) {
    case FleetEvent::Kind::DeviceOffline: return "device_offline";
    case FleetEvent::Kind::DeviceBack: return "device_back";
    case FleetEvent::Kind::GroupOffline: return "group_offline";
    case FleetEvent::Kind::GroupBack: return "group_back";
    }
    return "?";
}

FleetWatch::FleetWatch(FleetWatchOptions options) : options_(options) {}

void FleetWatch::track(std::map<std::string, Tracked> &map, const std::string &key, bool online, std::int64_t nowMs)
{
    auto [it, inserted] = map.try_emplace(key);
    Tracked &t = it->second;
    if (inserted) {
        // New to the watch (or the first snapshot): its state is the baseline.
        t.announcedOnline = t.seenOnline = online;
        t.changedAtMs = nowMs;
        return;
    }
    if (t.seenOnline != online) {
        t.seenOnline = online;
        t.changedAtMs = nowMs;
    }
}

std::optional<bool> FleetWatch::settle(Tracked &t, std::int64_t nowMs)
{
    if (t.seenOnline == t.announcedOnline || nowMs - t.changedAtMs < options_.holdMs)
        return std::nullopt;
    t.announcedOnline = t.seenOnline;
    while (!t.announced.empty() && nowMs - t.announced.front() >= kHourMs)
        t.announced.pop_front();
    if (!t.seenOnline) {
        if (static_cast<int>(t.announced.size()) >= options_.maxPerHour) {
            ++suppressed_;
            return std::nullopt;
        }
        t.announced.push_back(nowMs);
        t.offlineAnnounced = true;
        return true;
    }
    if (!t.offlineAnnounced)
        return std::nullopt; // its offline was withheld: so is its return
    t.offlineAnnounced = false;
    return false;
}

std::vector<FleetEvent> FleetWatch::observe(const std::vector<WatchedDevice> &fleet, std::int64_t nowMs)
{
    std::vector<FleetEvent> events;
    std::set<std::string> present;
    std::map<std::string, std::pair<int, int>> groupCounts; // group -> (offline, total)
    for (const auto &d : fleet) {
        if (!d.lastSeenMs)
            continue; // never seen: nothing to lose
        present.insert(d.id);
        track(devices_, d.id, d.online, nowMs);
        devices_[d.id].lastSeenMs = d.lastSeenMs;
        if (d.group) {
            auto &[offline, total] = groupCounts[*d.group];
            ++total;
            if (!d.online)
                ++offline;
        }
    }
    for (auto it = devices_.begin(); it != devices_.end();)
        it = present.count(it->first) ? std::next(it) : devices_.erase(it);

    for (const auto &[group, counts] : groupCounts) {
        const auto [offline, total] = counts;
        const bool down = total >= options_.groupMinDevices && offline >= options_.groupShare * total;
        track(groups_, group, !down, nowMs);
    }
    for (auto it = groups_.begin(); it != groups_.end();)
        it = groupCounts.count(it->first) ? std::next(it) : groups_.erase(it);

    if (!baseline_) {
        baseline_ = true;
        return events;
    }
    for (auto &[id, t] : devices_) {
        if (const auto offline = settle(t, nowMs)) {
            FleetEvent e;
            e.kind = *offline ? FleetEvent::Kind::DeviceOffline : FleetEvent::Kind::DeviceBack;
            e.subject = id;
            e.sinceMs = t.changedAtMs;
            e.lastSeenMs = t.lastSeenMs;
            events.push_back(std::move(e));
        }
    }
    for (auto &[group, t] : groups_) {
        if (const auto offline = settle(t, nowMs)) {
            FleetEvent e;
            e.kind = *offline ? FleetEvent::Kind::GroupOffline : FleetEvent::Kind::GroupBack;
            e.subject = group;
            e.sinceMs = t.changedAtMs;
            const auto counts = groupCounts[group];
            e.offline = counts.first;
            e.total = counts.second;
            events.push_back(std::move(e));
        }
    }
    return events;
}

std::int64_t FleetWatch::takeSuppressed()
{
    const auto n = suppressed_;
    suppressed_ = 0;
    return n;
}

std::vector<std::string> FleetWatch::offlineDevices() const
{
    std::vector<std::string> out;
    for (const auto &[id, t] : devices_)
        if (!t.announcedOnline)
            out.push_back(id);
    return out;
}

} // namespace stoa::hub
