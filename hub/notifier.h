// hub/notifier.h — the hub's own notifications, for operators without
// Prometheus: a device or group offline and back (fleet_watch.h), a daily
// digest, and a periodic "still alive" so a receiver notices when the
// notifications themselves stop (a dead man's switch).
//
// Job: every `checkMs` take a snapshot of the fleet, turn changes into
// messages, and deliver each to every channel configured: a webhook (JSON
// POST) and e-mail (the local `sendmail -t`), retrying failures with
// exponential backoff.
// Invariants:
//  - never in the request path: the watch and the deliveries have their
//    own threads; ingest and the API never wait for a receiver, however
//    slow or dead it is;
//  - bounded: at most `maxQueued` deliveries wait; past that the oldest is
//    dropped and counted (stats().dropped, the log);
//  - a delivery is tried until it succeeds or `maxAttempts` failed, with
//    waits doubling from `retryFirstMs` to `retryMaxMs`; a webhook answer
//    outside 2xx and a sendmail exit other than 0 are failures; each try
//    is cut after `timeoutMs`;
//  - one notifier per fleet: with several replicas, enable it on one (the
//    "still alive" messages say which hub sends them).
#pragma once

#include "hub/fleet_watch.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stoa::hub {

struct NotifyOptions {
    std::string webhookUrl;                 // POSTed application/json
    std::vector<std::string> emailTo;       // through `sendmail -t -oi`
    std::string emailFrom = "stoa-hub";
    std::string sendmail = "/usr/sbin/sendmail";
    std::string hubName = "stoa-hub";       // says which hub in every message
    std::int64_t checkMs = 30 * 1000;
    FleetWatchOptions watch;
    std::int64_t aliveMs = 60 * 60 * 1000;  // "still alive" period; 0: none
    int digestHourUtc = 8;                  // daily digest at this hour (UTC); -1: none
    std::size_t maxQueued = 1000;
    std::int64_t retryFirstMs = 5 * 1000;
    std::int64_t retryMaxMs = 10 * 60 * 1000;
    int maxAttempts = 10;
    std::int64_t timeoutMs = 10 * 1000;

    bool enabled() const { return !webhookUrl.empty() || !emailTo.empty(); }
};

struct NotifyStats {
    std::uint64_t delivered = 0;   // deliveries that succeeded
    std::uint64_t failedTries = 0; // tries that failed (and were retried or given up)
    std::uint64_t dropped = 0;     // given up after maxAttempts, or pushed out of a full queue
    std::uint64_t queued = 0;      // waiting now
};

class Notifier {
public:
    // The fleet now, with `online` meaning heard from recently; nullopt when
    // the storage cannot say (the check is skipped, nothing is announced).
    using Snapshot = std::function<std::optional<std::vector<WatchedDevice>>()>;

    Notifier(NotifyOptions options, Snapshot snapshot);
    ~Notifier(); // stop()
    Notifier(const Notifier &) = delete;
    Notifier &operator=(const Notifier &) = delete;

    void start();
    // Stops watching; deliveries still queued are given one more try each.
    void stop();
    NotifyStats stats() const;

private:
    struct Message {
        std::string kind;      // "device_offline", "alive", "digest", …
        std::string subject;   // e-mail subject
        std::string text;      // e-mail body
        std::string json;      // webhook body
    };
    enum class Channel { Webhook, Email };
    struct Delivery {
        std::shared_ptr<const Message> message;
        Channel channel = Channel::Webhook;
        int attempts = 0;
        std::chrono::steady_clock::time_point due;
    };

    void watchLoop();
    void sendLoop();
    void enqueue(Message message);
    bool deliver(const Delivery &d, std::string &why) const;
    bool postWebhook(const Message &m, std::string &why) const;
    bool sendMail(const Message &m, std::string &why) const;
    Message eventMessage(const FleetEvent &e, std::int64_t wallNowMs, std::int64_t steadyNowMs) const;
    Message aliveMessage(const std::vector<WatchedDevice> *fleet) const;
    Message digestMessage(const std::vector<WatchedDevice> &fleet, std::int64_t suppressed) const;

    const NotifyOptions options_;
    const Snapshot snapshot_;
    FleetWatch watch_;                       // the watch thread's alone

    mutable std::mutex mutex_;               // guards queue_, stats_, stopping_
    std::condition_variable wake_;           // the sender: a new delivery or stop
    std::condition_variable watchWake_;      // the watcher: stop
    std::deque<Delivery> queue_;
    NotifyStats stats_;
    bool stopping_ = false;
    std::thread watcher_;
    std::thread sender_;
};

} // namespace stoa::hub
