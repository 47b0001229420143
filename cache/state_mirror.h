// cache/state_mirror.h — durable copies, outside state.db, of what the spec
// says a device remembers (issue 15), so that a rebuilt database gets it back.
//
// Under <dataDir>/state/:
//   kv/time_floor_ms   the time floor (spec §7), decimal; only ever raised
//   kv/keys.envelope   the keys document in force (v1.1 §11: its version)
//   commands           command ids already carried out (spec §3), one JSON
//                      array ["<id>"] a line, append-only, never trimmed
//   plays.spool        proof-of-play records not yet acknowledged (spec §6):
//                      {"r":{record}} lines and {"ack":["<id>",...]} lines,
//                      append-only between compactions
//   lock               flock: one writer of the files above at a time,
//                      across processes
//
// Invariants:
//  - every write is on disk before it returns: whole files go through
//    writeFileAtomically(), appends are fdatasync'd (and the directory
//    fsync'd when the append created the file);
//  - an append that a crash cut short leaves a partial last line; readers
//    skip it, and the next append starts on a new line, so one torn record
//    never spoils the next;
//  - the files are written while the matching database transaction is still
//    open (see commands.cpp, playlog.cpp), so the mirror is never behind a
//    committed command id; recovery.cpp merges both ways at every open.
// Bounds: commands are not bounded (the spec has no expiry: any later
// manifest may carry an old id again, so forgetting one could run it twice);
// the spool holds at most the play log's cap of live records plus the dead
// ones compaction has not yet removed (compacted when dead > max(live, 1024)).
#pragma once

#include "cache/durable.h"
#include "cache/error.h"
#include "cache/play_record.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stoa::cache {

// kv keys mirrored, and how: a "max" key's mirror only ever grows (both
// processes raise it; a late, lower write must not win), a "value" key's
// mirror is the last value written.
inline constexpr const char *kMirroredMaxKeys[] = {"time_floor_ms"};
inline constexpr const char *kMirroredValueKeys[] = {"keys.envelope"};
bool isMirroredMaxKey(const std::string &key);
bool isMirroredValueKey(const std::string &key);

// What plays.spool holds once read: the records not acknowledged, in the
// order they were spooled, and how many lines are dead weight.
struct SpoolContents {
    std::vector<PlayRecord> live;  // seq is 0: the spool has no sequence numbers
    std::int64_t deadLines = 0;    // acknowledged records, ack lines and torn lines
};

class StateMirror {
public:
    explicit StateMirror(std::filesystem::path dataDir);

    std::filesystem::path dir() const { return m_dir; }

    // --- kv values
    // Raises the mirrored integer to at least `value`.
    Result<void> raiseInt(const std::string &key, std::int64_t value);
    Result<std::optional<std::int64_t>> readInt(const std::string &key) const;
    Result<void> setValue(const std::string &key, const std::string &value);
    Result<std::optional<std::string>> readValue(const std::string &key) const;

    // --- command ids
    Result<void> appendCommands(const std::vector<std::string> &ids);
    Result<std::set<std::string>> commandIds() const;

    // --- plays
    Result<void> spoolPlay(const PlayRecord &r);
    Result<void> spoolAck(const std::vector<std::string> &ids);
    Result<SpoolContents> readSpool() const;
    // Replaces the spool with exactly `live` (compaction).
    Result<void> rewriteSpool(const std::vector<PlayRecord> &live);
    std::int64_t spoolBytes() const;

    // The cross-process lock every writer above takes for itself; recovery
    // takes it once around a read-merge-rewrite (the calls then see it held).
    class Lock {
    public:
        Lock() = default;
        Lock(UniqueFd fd, const StateMirror *owner);
        Lock(Lock &&o) noexcept : m_fd(std::move(o.m_fd)), m_owner(std::exchange(o.m_owner, nullptr)) {}
        Lock &operator=(Lock &&) = delete;
        ~Lock();

    private:
        UniqueFd m_fd;                        // flock released on close; empty when nested
        const StateMirror *m_owner = nullptr; // whose depth to give back
    };
    Result<Lock> lock() const;

private:
    Result<void> append(const std::filesystem::path &file, const std::string &lines);
    Result<void> ensureDir() const;

    std::filesystem::path m_dir;
    mutable int m_lockDepth = 0; // > 0: this object holds the lock (nested calls do not take it again)
};

// Parses one spooled record line ({"r":{...}}); nullopt when it is not one.
std::optional<PlayRecord> playFromJson(const std::string &line);
std::string playToJson(const PlayRecord &r);

} // namespace stoa::cache
