// cache/playlog.h — proof-of-play records (protocol §6) waiting for upload.
//
// The player appends, the sync agent reads batches in order and acknowledges
// them after a 2xx. Records stay until acknowledged (at-least-once). The log
// is capped: past `maxRecords` the oldest are dropped and the drop counted,
// so a device offline for months cannot fill its disk with plays.
//
// With a StateMirror (the Store's PlayLog has one) every new record is also
// appended to state/plays.spool (fdatasync'd) before its transaction
// commits, and acknowledged or dropped ids are appended as ack lines, so a
// rebuilt state.db gets its unsent plays back (recovery.cpp): at-least-once
// across a rebuild. A record the spool could not take is still logged in the
// database (a warning: it is then only as safe as the database). The spool
// is compacted after an acknowledgement once its dead lines outnumber
// max(live records, 1024), so it holds at most about twice the cap.
#pragma once

#include "cache/database.h"
#include "cache/error.h"
#include "cache/play_record.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stoa::cache {

class StateMirror;

class PlayLog {
public:
    static constexpr std::int64_t kDefaultMaxRecords = 100000;

    // `db` must outlive the PlayLog.
    PlayLog(Database &db, std::int64_t maxRecords = kDefaultMaxRecords, StateMirror *mirror = nullptr)
        : m_db(db), m_max(maxRecords), m_mirror(mirror)
    {
    }

    // Appends and enforces the cap in one transaction. Returns the record's seq.
    Result<std::int64_t> append(const PlayRecord &r);
    // The oldest `limit` records, in order.
    Result<std::vector<PlayRecord>> batch(int limit);
    // Deletes every record with seq <= upToSeq (an uploaded batch).
    Result<void> acknowledge(std::int64_t upToSeq);
    Result<std::int64_t> count();
    // Records dropped by the cap since the store was created.
    Result<std::int64_t> dropped();
    // Puts back records that were spooled but are not in the database (a
    // rebuilt state.db, a record spooled in the player's fallback): ids
    // already present are skipped, the cap applies, the spool is not
    // written again. Returns how many were added.
    Result<std::int64_t> restore(const std::vector<PlayRecord> &records);

private:
    Result<std::int64_t> enforceCap();
    void compactSpoolIfDue();

    Database &m_db;
    std::int64_t m_max;
    StateMirror *m_mirror; // not owned; null: the database only
};

} // namespace stoa::cache
