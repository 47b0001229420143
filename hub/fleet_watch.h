// hub/fleet_watch.h — which devices and groups went offline or came back,
// from successive snapshots of the fleet, with flap damping.
//
// Job: the decisions behind the hub's own notifications (notifier.h), kept
// free of threads, clocks and I/O so that every rule is tested directly:
// observe() takes the fleet as it is now and returns the events to send.
// Invariants:
//  - the first snapshot only sets the baseline: a restarted hub does not
//    announce every offline device again;
//  - a device's (or group's) new state is announced only once it has held
//    for `hold` (a device that drops for less never notifies, nor does its
//    return); an offline announced is always followed by its "back" when
//    the device returns, never by a second "offline";
//  - at most `maxPerHour` "offline" announcements per device in any hour:
//    past that the device is flapping, and further offlines are withheld
//    and counted (takeSuppressed()) for the digest; a "back" for an
//    announced offline is never withheld, and a withheld offline gets no
//    "back";
//  - a group is offline while at least `groupShare` of its devices (that
//    were ever seen) are offline, and has at least `groupMinDevices`;
//  - devices never seen and revoked devices are not watched.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stoa::hub {

struct WatchedDevice {
    std::string id;
    std::optional<std::string> group;
    bool online = false;                   // online or stale: heard from recently
    std::optional<std::int64_t> lastSeenMs;
};

struct FleetEvent {
    enum class Kind { DeviceOffline, DeviceBack, GroupOffline, GroupBack };
    Kind kind = Kind::DeviceOffline;
    std::string subject;                   // device id or group name
    std::int64_t sinceMs = 0;              // when the new state began
    std::optional<std::int64_t> lastSeenMs; // devices
    int offline = 0, total = 0;            // groups
};

const char *eventName(FleetEvent::Kind kind); // "device_offline", "device_back", …

struct FleetWatchOptions {
    std::int64_t holdMs = 2 * 60 * 1000;
    int maxPerHour = 4;
    double groupShare = 0.5;
    int groupMinDevices = 2;
};

class FleetWatch {
public:
    explicit FleetWatch(FleetWatchOptions options);

    std::vector<FleetEvent> observe(const std::vector<WatchedDevice> &fleet, std::int64_t nowMs);

    // Announcements withheld by the hourly cap since the last call.
    std::int64_t takeSuppressed();
    // Devices offline for at least `hold` (announced or withheld).
    std::vector<std::string> offlineDevices() const;

private:
    struct Tracked {
        bool announcedOnline = true;       // the state last announced (or the baseline)
        bool seenOnline = true;            // the state in the latest snapshot
        std::int64_t changedAtMs = 0;      // when seenOnline took its value
        std::optional<std::int64_t> lastSeenMs;
        bool offlineAnnounced = false;     // an "offline" went out and its "back" has not
        std::deque<std::int64_t> announced; // offline announcements within the last hour
    };
    // `t`'s pending change once it held long enough: the event kind to
    // announce (offline = true/false), or nothing (not yet, or withheld).
    std::optional<bool> settle(Tracked &t, std::int64_t nowMs);
    void track(std::map<std::string, Tracked> &map, const std::string &key, bool online, std::int64_t nowMs);

    const FleetWatchOptions options_;
    bool baseline_ = false;
    std::map<std::string, Tracked> devices_;
    std::map<std::string, Tracked> groups_;
    std::int64_t suppressed_ = 0;
};

} // namespace stoa::hub
