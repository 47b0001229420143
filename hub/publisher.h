// hub/publisher.h — what operators publish, turned into the signed site.
//
// Job: keep the hub's content (a media library, the fleet schedule, per-
// device schedules, pending device commands) under DATA/, and after every
// change write the whole signed site (DATA/site, protocol §1) with the same
// publishing code `stoa publish` uses (publish/publish.h): one new version
// for the fleet manifest and every per-device manifest together, all-or-
// nothing. Also the wake-up cursor (§10) of each device.
// Layout under DATA:
//   library/NAME                 media, named by the operator
//   sources/fleet.ini            the fleet schedule (schedule.ini format)
//   sources/devices/ID.ini       a device's own schedule
//   sources/groups/NAME.ini      a group's schedule (its members without one of their own)
//   sources/commands/ID.json     a device's pending commands
//   digests/NAME                 a medium's SHA-256, taken when it was stored (media_digests.h)
//   keys/signing.pem (0600)      the hub's online signing key; .pub beside it
// Invariants:
//  - a schedule is stored only if it parses and every medium it names is in
//    the library: a refused change leaves content and site as they were;
//  - every manifest is signed by the hub's signing key; the root key never
//    reaches the hub (operators list the signing key in a keys document
//    signed offline with `stoa keys`, then upload it: putKeysDocument);
//  - a device's manifest exists exactly while it has its own schedule or
//    pending commands; when it goes, the fleet manifest is republished at a
//    version above it, so the device never sees a rollback;
//  - a medium a schedule names cannot be removed (removeMedia says which
//    schedule and playlist), and only supported media types are stored;
//  - one mutex serialises every change (publishing is rare; reads of the
//    cursor are lock-free snapshots).
#pragma once

#include "hub/media_digests.h"
#include "publish/error.h"
#include "schedule/digest.h"
#include "schedule/keys.h"

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stoa::hub {

struct MediaInfo {
    std::string name;
    schedule::Digest sha256; // what the manifests name it by
    std::int64_t bytes = 0;
};

// A schedule's playlist that names a medium.
struct MediaUse {
    std::string target;   // "fleet", "groups/NAME", "devices/ID"
    std::string playlist;
};

struct PendingCommand {
    std::string id;
    std::string type;
    std::int64_t createdAtMs = 0;
};

struct Publication {
    std::int64_t version = 0;
    std::vector<std::string> manifests; // site paths written
};

class Publisher {
public:
    struct Options {
        std::string dataDir;
        std::int64_t manifestLifetimeMs = std::int64_t{30} * 86400 * 1000;
        std::int64_t commandLifetimeMs = std::int64_t{24} * 3600 * 1000; // then dropped at the next publish
        // Root public keys to check an uploaded keys document with; empty:
        // its shape is checked, its root signature is left to the devices.
        std::vector<schedule::PublicKey> roots;
        // Device id -> group, read at every publication (the storage's).
        std::function<std::map<std::string, std::string>()> membership;
    };

    // Loads the signing key, creating it on first use.
    static std::expected<std::unique_ptr<Publisher>, publish::Error> open(Options options);

    const schedule::PublicKey &signingKey() const;

    std::expected<MediaInfo, publish::Error> putMedia(const std::string &name, const std::string &bytes);
    // An upload's finished file (upload_store.h), already hashed: moved into
    // the library by rename (same filesystem, under DATA) with its digest
    // recorded; a schedule that names it is republished.
    std::expected<MediaInfo, publish::Error> adoptMedia(const std::string &name, const std::string &file,
                                                        const publish::FileDigest &digest);
    // The library's stored digests, for publish::collectAssets.
    publish::DigestSource digestSource() const { return digests_.source(); }
    std::expected<std::vector<MediaInfo>, publish::Error> media() const;
    // Where each medium is named: medium -> uses, over every stored schedule.
    std::map<std::string, std::vector<MediaUse>> mediaUses() const;
    // Removes a medium no schedule names; Invalid (saying where it is used)
    // when one does, Usage when there is no such medium.
    std::expected<void, publish::Error> removeMedia(const std::string &name);
    // The library file of a medium; nullopt: no such medium.
    std::optional<std::string> mediaFile(const std::string &name) const;

    // `target`: "fleet", "devices/ID" or "groups/NAME". A device plays its
    // own schedule, else its group's, else the fleet's.
    std::expected<Publication, publish::Error> putSchedule(const std::string &target, const std::string &text);
    std::expected<Publication, publish::Error> removeSchedule(const std::string &target); // not "fleet"
    std::optional<std::string> schedule(const std::string &target) const;
    // After a change the publisher cannot see (a device moved groups).
    std::expected<Publication, publish::Error> republish();
    // DATA-relative source file of a target; nullopt: not a target.
    static std::optional<std::string> sourceFile(const std::string &target);
    // The targets that have a schedule now: "fleet", "groups/…", "devices/…".
    std::vector<std::string> scheduleTargets() const;
    // The highest manifest version in the site (every publication writes
    // every manifest at one new version): what devices should reach.
    std::int64_t currentVersion() const;
    std::string libraryDir() const { return options_.dataDir + "/library"; }

    std::expected<std::pair<PendingCommand, Publication>, publish::Error> addCommand(const std::string &deviceId,
                                                                                     const std::string &type);
    std::vector<PendingCommand> commands(const std::string &deviceId) const;

    // A root-signed keys document (the envelope bytes) that must list the
    // hub's signing key; written to site/v1/keys.json.
    std::expected<std::int64_t, publish::Error> putKeysDocument(const std::string &envelope);

    // §10: what a device reads, as an opaque cursor; changes whenever its
    // manifest, the fleet manifest or keys.json changes.
    std::string cursorFor(const std::string &deviceId);
    // Bumped after every publication (waiters re-check their cursor).
    std::uint64_t generation() const { return generation_.load(); }
    // Re-reads the site's versions from disk (another replica published).
    void refresh();

    static bool validMediaName(const std::string &name);

private:
    explicit Publisher(Options options, schedule::PrivateKey key);
    std::expected<Publication, publish::Error> republishLocked(std::int64_t nowMs);
    std::map<std::string, std::vector<MediaUse>> mediaUsesLocked() const;
    void reloadVersionsLocked();
    std::string path(const std::string &relative) const;

    const Options options_;
    const schedule::PrivateKey key_;
    const MediaDigests digests_;             // DATA/digests
    mutable std::mutex mutex_;               // guards the files under DATA and the maps below
    std::map<std::string, std::int64_t> deviceVersions_; // site manifest versions per device
    std::int64_t fleetVersion_ = 0;
    std::int64_t keysVersion_ = 0;
    std::string siteStamp_;                  // mtimes seen by the last reload
    std::atomic<std::uint64_t> generation_{0};
};

} // namespace stoa::hub
