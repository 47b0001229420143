// cache/kv.h — small named values (time floor, backoff state, counters).
//
// Values are bytes; integers are stored as SQLite integers so they can be
// incremented in SQL without a read-modify-write race between processes.
//
// With a StateMirror (the Store's KeyValue has one), the keys the spec says a
// device remembers (state_mirror.h: the time floor, the keys document) are
// also written to the mirror after the database, before the call returns; a
// failed mirror write is the call's error (the database is then ahead, and
// recovery rewrites the mirror from it at the next open).
#pragma once

#include "cache/database.h"
#include "cache/error.h"
#include "cache/state_mirror.h"

#include <cstdint>
#include <optional>
#include <string>

namespace stoa::cache {

class KeyValue {
public:
    // `db` must outlive the KeyValue.
    explicit KeyValue(Database &db, StateMirror *mirror = nullptr) : m_db(db), m_mirror(mirror) {}

    Result<std::optional<std::string>> get(const std::string &key);
    Result<void> set(const std::string &key, const std::string &value);
    Result<std::optional<std::int64_t>> getInt(const std::string &key);
    Result<void> setInt(const std::string &key, std::int64_t value);
    // Atomically adds `delta` (absent counts as 0); returns the new value.
    Result<std::int64_t> add(const std::string &key, std::int64_t delta);
    // Atomically raises the value to `candidate` if that is larger (absent:
    // set); returns the value now stored. For monotonic values that more than
    // one process saves, such as the time floor: a stale writer never lowers it.
    Result<std::int64_t> raise(const std::string &key, std::int64_t candidate);
    Result<void> remove(const std::string &key);

private:
    Database &m_db;
    StateMirror *m_mirror; // not owned; null: no mirroring (helpers inside one transaction)
};

} // namespace stoa::cache
