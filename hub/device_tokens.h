// hub/device_tokens.h — the device tokens a hub accepts, held in memory.
//
// Job: answer "which device does this token hash belong to?" for every
// device request without a database round trip (one per request was a
// quarter of the hub's CPU on SQLite, and most of PostgreSQL's work), by
// following the storage's credential versions (Storage::credentialsSince):
// a full load at start, then the changes every `refreshInterval`.
// Invariants:
//  - a token added, replaced or revoked by any process or replica is seen
//    here within one refresh interval; one changed through this hub is seen
//    from the next request on (changed() refreshes at once);
//  - an unknown hash is never refused from memory alone: it may belong to
//    a device added since the last refresh, so the caller asks the storage
//    (lookup() says Unknown);
//  - until the first load succeeds every lookup is Unknown (the hub works
//    as before, asking per request); a failed refresh keeps what it had
//    and is retried at the next interval;
//  - memory: one entry per device (the SHA-256 in binary and the id), about
//    100 bytes; 100,000 devices take ~10 MiB.
#pragma once

#include "hub/storage.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace stoa::hub {

class DeviceTokens {
public:
    struct Lookup {
        enum class Kind { Device, Revoked, Unknown } kind = Kind::Unknown;
        std::string deviceId; // for Device
    };

    DeviceTokens(Storage &storage, std::chrono::milliseconds refreshInterval);
    ~DeviceTokens(); // stop()
    DeviceTokens(const DeviceTokens &) = delete;
    DeviceTokens &operator=(const DeviceTokens &) = delete;

    // Loads everything, then follows changes on a thread of its own.
    void start();
    void stop();

    // `tokenHashHex`: tokenHash() of the presented token.
    Lookup lookup(std::string_view tokenHashHex) const;
    // A credential was changed through this hub: fetch the change now.
    void changed();
    // The changes up to now, on the caller's thread (start() and tests).
    StorageResult<void> refresh();

    std::size_t size() const;
    bool loaded() const;

private:
    using Digest = std::array<std::uint8_t, 32>;
    struct DigestHash {
        std::size_t operator()(const Digest &d) const noexcept;
    };
    struct Entry {
        std::string deviceId;
        bool revoked = false;
    };
    static std::optional<Digest> fromHex(std::string_view hex);
    void run();

    Storage &storage_;
    const std::chrono::milliseconds interval_;

    mutable std::shared_mutex mapMutex_;           // guards byHash_, byDevice_, version_, loaded_
    std::unordered_map<Digest, Entry, DigestHash> byHash_;
    std::unordered_map<std::string, Digest> byDevice_; // a device's current hash, to drop the old one
    std::int64_t version_ = -1;                     // highest credential version applied
    bool loaded_ = false;

    std::mutex refreshMutex_;                       // one refresh at a time
    std::mutex threadMutex_;                        // guards stopping_, kick_
    std::condition_variable wake_;
    bool stopping_ = false;
    bool kick_ = false;
    std::thread thread_;
};

} // namespace stoa::hub
