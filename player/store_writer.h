// player/store_writer.h — the player's store writes, on a thread of their
// own, so that no fsync ever holds the GUI thread (issue 15, "Nothing blocks
// the screen").
//
// At every item switch the player writes the play that ended (spec §6: the
// play spool's fdatasync, then a SQLite commit with synchronous=FULL),
// "now playing" (spec §5, one more commit) and the next blob's last use
// (eviction order, one more; and while another connection holds the write
// lock, a wait for it). On a Raspberry Pi's SD card one
// sync can take tens to hundreds of milliseconds: on the GUI thread that
// froze the new item's first frames. Here the GUI thread only queues; the
// writer thread writes, in the order queued.
//
// Connection: a cache::Store belongs to one thread (cache/store.h), so the
// writer opens its own Database on state.db, with its own StateMirror (the
// mirror's flock is taken per open file description, so the writer and the
// GUI thread's Store exclude each other as two processes do) and its own
// PlayLog and KeyValue over them: the same write path as Store::plays().
//
// While the player's Store is a fallback (the agent holds store.lock to
// rebuild state.db; cache::Store::fallbackActive), the writer does not touch
// state.db: a play is appended to state/plays.spool (fdatasync) and kept in
// memory; "now playing" is kept (the latest only). Once the Store is
// attached, the writer opens state.db and puts the kept plays in
// (PlayLog::restore skips ids already there: Store::adopt reads the spool
// too, and either may come first), then writes the kept "now playing".
//
// Guarantees:
//  - order: writes happen in the order play()/nowPlaying() were called;
//    consecutive "now playing" values collapse to the last;
//  - at-least-once: a play accepted by play() is in state.db or the spool
//    (which recovery puts back into state.db at the next open) once the
//    writer took it, unless both writes failed (logged, counted in
//    failures()). The window in which a play is only in memory is from
//    play() until the writer took it: normally one or two syncs; with a
//    slow or stuck disk, as long as the backlog ahead of it. A SIGKILL or a
//    power cut in that window loses the plays still queued (before issue 15
//    the same plays were lost with the GUI thread frozen instead);
//  - bound: at most kMaxQueuedPlays plays wait (and as many blob uses: past
//    that they are dropped, a hint); past that play() refuses
//    (the record is lost, logged at the first of a series and counted in
//    droppedFull()): a disk so stuck that 4096 switches were not written
//    must not grow the player's memory, and the screen must not wait;
//  - shutdown: the destructor (SIGTERM ends the event loop, main.cpp, and
//    Playback is destroyed) waits for the queue up to shutdownDeadline, then
//    drops what is left (logged with the count) and waits only for the
//    write in progress;
//  - a failed write is logged and counted; a play that state.db refused is
//    still spooled, so the next open puts it back.
#pragma once

#include "cache/blobs.h"
#include "cache/database.h"
#include "cache/kv.h"
#include "cache/play_record.h"
#include "cache/playlog.h"
#include "cache/state_mirror.h"
#include "schedule/digest.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace stoa::player {

// kv key of "now playing" (JSON {playlist, asset, url}), which the agent's
// heartbeat reports (spec §5 now_playing).
inline constexpr char kNowPlayingKey[] = "player.now_playing";
// kv key of the v1.1 §13 sync state ("synchronised" / "unsynchronised"),
// absent while no synchronised playlist plays; the heartbeat's sync.state.
inline constexpr char kSyncStateKey[] = "player.sync_state";

class StoreWriter {
public:
    static constexpr std::size_t kMaxQueuedPlays = 4096;

    struct Options {
        std::filesystem::path dataDir;
        std::int64_t maxPlayRecords = cache::PlayLog::kDefaultMaxRecords;
        std::chrono::milliseconds shutdownDeadline{5000};
        // How often a writer holding fallback plays looks for the attached store.
        std::chrono::milliseconds attachPoll{250};
    };

    explicit StoreWriter(Options options);
    ~StoreWriter();
    StoreWriter(const StoreWriter &) = delete;
    StoreWriter &operator=(const StoreWriter &) = delete;

    // GUI thread (any thread but the writer's). Never waits on the disk.
    // False: the queue is full and the record was dropped (see above).
    bool play(cache::PlayRecord record);
    // `syncState`: kSyncStateKey's value, empty: removed (written together).
    void nowPlaying(std::string json, std::string syncState = {});
    // BlobStore::touch(digest): dropped during the fallback (the order of
    // eviction is a hint; the private database is thrown away anyway).
    void blobUsed(schedule::Digest digest);
    // Waits until everything queued so far is written (or failed), at most
    // `deadline`; true when the queue is empty. Not from the writer thread.
    bool drain(std::chrono::milliseconds deadline);

    std::int64_t written() const { return m_written.load(); }       // plays and now-playing values written
    std::int64_t failures() const { return m_failures.load(); }     // writes that failed (logged)
    std::int64_t droppedFull() const { return m_droppedFull.load(); } // plays refused at the bound

private:
    struct NowPlaying {
        std::string json;
        std::string syncState;
    };
    struct BlobUsed {
        schedule::Digest digest;
    };
    using Op = std::variant<cache::PlayRecord, NowPlaying, BlobUsed>;

    void run();
    void perform(Op &op);
    void writePlay(const cache::PlayRecord &r);
    void writeNowPlaying(const NowPlaying &np);
    // Opens state.db once the Store is no fallback, and writes what was kept
    // meanwhile. True when attached.
    bool attached();
    bool holdingForAttach() const { return !m_keptPlays.empty() || m_keptNowPlaying.has_value(); }

    const Options m_options;

    // --- Writer thread only (set up before it starts, torn down after join).
    cache::StateMirror m_mirror;
    std::optional<cache::Database> m_db; // empty until attached
    std::optional<cache::PlayLog> m_plays; // over *m_db and m_mirror
    std::optional<cache::KeyValue> m_kv;   // over *m_db
    std::optional<cache::BlobStore> m_blobs; // over *m_db
    std::vector<cache::PlayRecord> m_keptPlays;   // spooled during the fallback, not yet in state.db
    std::optional<NowPlaying> m_keptNowPlaying;   // the latest now-playing during the fallback
    bool m_openFailedLogged = false;

    // --- Shared: the counters are atomics; the rest is guarded by m_mutex.
    std::atomic<std::int64_t> m_written{0};
    std::atomic<std::int64_t> m_failures{0};
    std::atomic<std::int64_t> m_droppedFull{0};
    std::mutex m_mutex;
    std::condition_variable m_wake; // the writer: work or stop
    std::condition_variable m_idle; // drain(): queue empty and nothing in progress
    std::deque<Op> m_queue;
    std::size_t m_queuedPlays = 0;
    std::size_t m_queuedUses = 0; // BlobUsed ops in m_queue
    bool m_busy = false;     // the writer is performing an op taken from m_queue
    bool m_stopping = false; // the writer returns once the queue is empty

    std::thread m_thread; // last: started when everything above exists
};

} // namespace stoa::player
