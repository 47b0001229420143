// player/playback.h — the player's core: what is on screen, and what comes next.
//
// Owns the active manifest (re-read from the store when the ChangeWatcher
// sees a new activation), asks the schedule engine what plays now and when
// that changes (ONE schedule timer at nextChange), and drives the screen's
// RegionPlayers (player/region_player.h): the full screen, always there,
// playing the tied playlists in force, and while a v1.1 §12 layout is in
// force one RegionPlayer per region of it (the full screen then shows
// nothing). Each has its own two slots, switched gaplessly; QML renders them
// and reports back to them.
//
// Rules (docs/player.md has the walk-through; the per-region rules are
// region_player.h's):
//  - what is in force: tied playlists alone take turns full-screen (one
//    item each); a layout tied with other contents takes turns with them in
//    the order of NowPlaying::contents (v1.1 §12): a layout's turn lasts
//    schedule::layoutTurnMs() (0: an all-empty layout gives its turn away),
//    a playlist's one full-screen item (the full screen's picker goes round
//    the tied playlists, so consecutive playlist turns are its next items);
//  - a change of the regions on screen (layout A -> B, layout <-> full
//    screen) is gapless: the new content's RegionPlayers (or the idle full
//    screen) are staged a load timeout before the change, and at its
//    instant, once every one is prepared, shown in one GUI-thread turn with
//    the old ones released (the same frame); until then the old stay;
//  - a new manifest takes effect at each region's next item boundary: the
//    hidden slots are reloaded from it; a layout whose regions changed is
//    staged at once and replaces the old regions when prepared (as below);
//  - never dark: the idle screen (device id, state) is only for nothing on
//    screen in any region: no manifest, nothing scheduled, nothing playable;
//  - items that failed are marked bad for every region (one BadItems), with
//    retry times (badRetry, doubling per failure up to badRetryMax; cleared
//    by a new manifest or a good play);
//  - web items: a page's load timeout counts from the moment the web engine
//    is warm (warmed up in the background when the active or staged
//    manifest has web items), so Chromium's cold start is not the page's;
//  - every play goes to the store's play log (PlayRecorder).
// Time: schedule decisions use trusted time (TrustedClock over the injected
// Clocks); durations and timers use the monotonic clock. A timer for a
// schedule boundary is a monotonic delay computed from trusted now, right
// only while trusted time runs with the monotonic clock: once a second
// (m_jumpTimer) trusted time is compared with where the monotonic clock says
// it should be, and a wall clock set forward or back (spec §7: trusted time
// follows it forward, falls back to the floor behind it) resolves the
// schedule again at once and tells the display window (trustedTimeJumped).
//
// Files by concern: playback.cpp (start, adoption, the view, the regions'
// reports), playback_schedule.cpp (what is in force, the schedule timer and
// the turns), playback_staging.cpp (the gapless change of regions),
// playback_time.cpp (the time floor and clock jumps).
#pragma once

#include "cache/changes.h"
#include "cache/store.h"
#include "player/active_manifest.h"
#include "player/bad_items.h"
#include "player/device_state.h"
#include "player/item_picker.h"
#include "player/media_slot.h"
#include "player/play_recorder.h"
#include "player/playback_config.h"
#include "player/region_player.h"
#include "player/web_setup.h"
#include "player/web_warm_up.h"
#include "schedule/engine.h"
#include "schedule/trusted_time.h"

#include <QObject>
#include <QTimer>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stoa::player {

class Playback : public QObject, private RegionHost {
    Q_OBJECT
    Q_PROPERTY(stoa::player::MediaSlot *slotA READ slotA CONSTANT)
    Q_PROPERTY(stoa::player::MediaSlot *slotB READ slotB CONSTANT)
    Q_PROPERTY(bool idle READ idle NOTIFY idleChanged)
    Q_PROPERTY(QString statusLine READ statusLine NOTIFY statusLineChanged)
    Q_PROPERTY(QString deviceId READ deviceId CONSTANT)
    Q_PROPERTY(int rotation READ rotation NOTIFY rotationChanged)
    // The web engine's warm-up: QML keeps its hidden page (qml/WebWarmUp.qml).
    Q_PROPERTY(stoa::player::WebWarmUp *webWarmUp READ webWarmUp CONSTANT)
    // The full screen's RegionPlayer (always there), and the regions of the
    // layout in force (QML places each at its rectangle; empty: none).
    Q_PROPERTY(stoa::player::RegionPlayer *fullScreen READ fullScreen CONSTANT)
    Q_PROPERTY(QList<QObject *> regions READ regions NOTIFY regionsChanged)
public:
    Playback(cache::Store &store, schedule::Clocks clocks, PlaybackConfig config, QObject *parent = nullptr);
    ~Playback() override;

    // Reads the active manifest, opens the change watcher, starts playing.
    // False only when the store cannot be watched (then nothing will ever change).
    bool start();

    // The full screen's slots.
    MediaSlot *slotA() { return m_fullScreen->slotA(); }
    MediaSlot *slotB() { return m_fullScreen->slotB(); }
    bool idle() const { return m_idle; }
    RegionPlayer *fullScreen() { return m_fullScreen.get(); }
    QList<QObject *> regions() const;
    // The regions of the layout in force, in manifest order (empty: none).
    std::vector<RegionPlayer *> layoutRegions() const;
    // The layout in force, if any.
    const std::optional<std::string> &layout() const { return m_inForce.layout; }
    QString statusLine() const { return m_statusLine; }
    QString deviceId() const { return QString::fromStdString(m_config.deviceId); }
    int rotation() const { return m_rotation; }
    WebWarmUp *webWarmUp() { return &m_webWarmUp; }

    // The item on screen full-screen, else in the first region showing one.
    const PlannedItem *current() const;
    // What the screen shows, as now playing, /status and the diagnostics
    // report it: the v1 fields from current(), and under a layout its name
    // and each region's item (device_state.h PlayerView; the bad items are
    // the caller's). Read-only.
    PlayerView view() const;
    std::int64_t transitions() const { return m_transitions; }
    // The play records and now playing, written off the GUI thread (tests flush it).
    PlayRecorder &playRecorder() { return m_recorder; }
    // The adopted manifest's version; nullopt before any (diagnostics, /status).
    std::optional<std::int64_t> manifestVersion() const
    {
        return m_manifest ? std::optional(m_manifest->version) : std::nullopt;
    }
    std::optional<QDateTime> manifestExpiresAt() const
    {
        return m_manifest ? std::optional(m_manifest->expiresAt) : std::nullopt;
    }
    // The adopted manifest; nullptr before any. Valid until the next manifestChanged().
    const schedule::Manifest *manifest() const override { return m_manifest ? &*m_manifest : nullptr; }
    schedule::TrustedClock &clock() { return m_clock; }
    // v1.1 §13 sync.state: "synchronised" while a region plays a
    // synchronised playlist in step (trusted clock), "unsynchronised" while
    // one plays it with an untrusted clock; empty while none plays one.
    QString syncState() const;
    // Checks the store for a new active manifest now (tests; normally the watcher does it).
    void checkForManifest();

signals:
    void idleChanged();
    void statusLineChanged();
    void rotationChanged();
    void regionsChanged();
    // A new item is on screen (after the switch), or the idle screen came.
    void switched();
    // Something was skipped or failed: (content key, reason).
    void itemFailed(const QString &key, const QString &reason);
    // Every item's fate, for the metrics: kind "image"/"video"/"web",
    // outcome "played" (on screen), "skipped" (not playable: missing blob,
    // unsupported, no web engine) or "failed" (decode error, no start, stall).
    void itemOutcome(const QString &kind, const QString &outcome);
    // A timed item was replaced: seconds between its planned end and the
    // switch (0 when the next item was ready: the gapless case).
    void transitioned(double lateSeconds);
    // Another process committed something to the store (commands may wait).
    void storeChanged();
    // A manifest was adopted (a new version; emitted after playback planned it).
    void manifestChanged();
    // Trusted time moved apart from the monotonic clock (the wall clock was
    // set): timers armed from trusted time must be armed again. The schedule
    // of this object already was, before this is emitted.
    void trustedTimeJumped();

private:
    // How long after a switch the next change is staged at the earliest (armStage).
    static constexpr std::int64_t kStageSettleMs = 250;
    // How often trusted time is compared with the monotonic clock (checkTimeJump).
    static constexpr int kJumpCheckMs = 1000;

    // What the schedule puts on screen: a layout, or playlists full-screen.
    struct InForce {
        std::optional<std::string> layout;
        std::vector<std::string> playlists; // empty with a layout
        bool operator==(const InForce &) const = default;
    };

    // RegionHost: what the regions share, and their reports.
    const PlaybackConfig &config() const override { return m_config; }
    cache::Store &store() override { return m_store; }
    BadItems &badItems() override { return m_bad; }
    PlayRecorder &recorder() override { return m_recorder; }
    bool webWarm() const override { return m_webWarmUp.warm(); }
    std::int64_t monoNow() const override { return m_clocks.monotonicMs(); }
    QDateTime trustedUtcNow() override { return m_clock.now().utc; }
    schedule::TrustedNow trustedNow() override { return m_clock.now(); }
    std::optional<std::int64_t> nextChangeMono() const override { return m_nextChangeMono; }
    void regionItemFailed(const PlannedItem &item, const QString &reason, const char *outcome) override;

    // The change staged ahead (gapless, see above): what comes, the new
    // layout's regions (none: the full screen or nothing), whether the full
    // screen was staged, and whether its instant has come.
    struct Pending {
        InForce what;
        std::vector<std::unique_ptr<RegionPlayer>> regions;
        bool fullScreen = false;
        bool due = false;
    };

    void adopt(std::optional<schedule::Manifest> manifest);
    void resolveAndArm();
    void onScheduleTimer();
    InForce inForce(const schedule::NowPlaying &np) const;
    // v1.1 §12 turns: tied contents holding a layout and something else.
    static bool takesTurns(const std::vector<schedule::ContentRef> &contents);
    bool turnsTaken() const { return takesTurns(m_contents); }
    // What contents[i] puts on screen while it has its turn.
    static InForce turnInForce(const std::vector<schedule::ContentRef> &contents, std::size_t i);
    // The next turn after `i` (from the first with `i` = npos) that does not
    // give its turn away (a layout with a turn of 0); `i` (or 0) when none.
    std::size_t nextTurn(const std::vector<schedule::ContentRef> &contents, std::size_t i) const;
    // What `np` puts on screen first (its first turn when it takes turns).
    InForce firstInForce(const schedule::NowPlaying &np) const;
    // Ends the turn in force (a layout's time ran out, the full screen's
    // item was over, or it had nothing to show) and puts the next one on.
    void advanceTurn();
    // Arms the layout turn's end (m_turnTimer) and what comes after it.
    void armTurn();
    // The regions on screen for `what` differ from those for m_inForce.
    bool changesRegions(const InForce &what) const;
    // Stages `what` (replacing another staged change); `due`: its instant
    // has come, it is shown as soon as it is prepared.
    void stage(const InForce &what, bool due);
    void dropPending();
    // Shows the staged change when it is due and prepared.
    void commitIfReady();
    // Arms m_stageTimer for m_upcoming (a load timeout before m_nextChangeMono).
    void armStage();
    // Every RegionPlayer: the full screen, the layout's, the staged ones.
    std::vector<RegionPlayer *> allRegions() const;
    // What the RegionPlayer at `place` plays under `what` (empty: nothing).
    std::vector<std::string> playlistsOf(const RegionPlace &place, const InForce &what) const;
    // ... at monotonic instant `mono`, by the schedule then.
    std::vector<std::string> playlistsAt(const RegionPlace &place, std::int64_t mono) override;
    // Puts m_inForce on screen: other regions than those on screen are
    // staged and shown once prepared (stage, commitIfReady); the same ones
    // are kept (a new manifest, `adopted`, reloads their hidden slots), the
    // full screen given its playlists.
    void apply(bool adopted);
    // The region places of `layout` under the manifest (none without one).
    std::vector<RegionPlace> placesOf(const std::optional<std::string> &layout) const;
    // The full screen's item is over (RegionPlayer::itemOver).
    void fullScreenItemOver();
    // From the RegionPlayers: an item came on screen (`lateMs` -1: untimed),
    // an item is held another turn, a region shows nothing any more.
    void regionSwitched(const PlannedItem &item, std::int64_t lateMs) override;
    void regionHeld(const PlannedItem &item) override;
    void regionEmptied() override;
    void updateIdle();
    // Starts or drops the web warm-up for what the active and staged manifests hold.
    void updateWebWarmUp();
    void setStatus(const QString &line);
    void setRotation(int degrees);
    // Saves the trusted clock's floor to the store when due, or now with
    // `force` (shutdown), and re-arms the timer.
    void persistTimeFloor(bool force);
    // Samples trusted time against the monotonic clock; on a jump, resolves
    // the schedule again and emits trustedTimeJumped().
    void checkTimeJump();
    // Now playing (and the sync state) to the store, for the heartbeat.
    void publishNowPlaying();
    QString idleReason() const;
    // The time floor saved in the store (by either process), if any.
    static std::optional<std::int64_t> persistedFloor(cache::Store &store);
    // "a, b, c", for the log.
    static QString joined(const std::vector<std::string> &names);

    cache::Store &m_store;
    schedule::Clocks m_clocks;
    PlaybackConfig m_config;
    schedule::TrustedClock m_clock;
    PlayRecorder m_recorder;
    std::unique_ptr<cache::ChangeWatcher> m_watcher;

    std::optional<schedule::Manifest> m_manifest;
    std::int64_t m_manifestGeneration = -1;     // store activation generation last read
    InForce m_inForce;                          // on screen now by the schedule (both empty: idle by schedule)
    std::optional<std::int64_t> m_nextChangeMono; // monotonic ms of the next change: the schedule's, or a turn's end
    InForce m_upcoming;                         // in force from m_nextChangeMono on
    std::optional<std::int64_t> m_scheduleChangeMono; // the schedule's next change alone
    std::vector<schedule::ContentRef> m_contents; // tied at the top priority now (NowPlaying::contents)
    std::size_t m_turn = 0;                     // whose turn, index into m_contents (turnsTaken())
    std::optional<std::int64_t> m_turnEndMono;  // the turn in force ends then (a layout's; a timed item's)
    int m_givenAway = 0;                        // turns given away in a row (nothing to show): stops at a round
    bool m_staging = false;                     // stage() is filling m_pending: no commit yet
    BadItems m_bad;                             // content failed under this manifest, and its retry times
    WebWarmUp m_webWarmUp;                      // Chromium started ahead of the first page

    // Declared after everything they use: destroyed first.
    std::unique_ptr<RegionPlayer> m_fullScreen;          // always there; shows nothing under a layout
    std::vector<std::unique_ptr<RegionPlayer>> m_layout; // the layout in force's regions, in manifest order
    std::optional<Pending> m_pending;                    // the next change, staged

    QTimer m_scheduleTimer;                     // the one timer at the schedule's next change
    QTimer m_turnTimer;                         // a layout's turn ends (v1.1 §12)
    QTimer m_stageTimer;                        // stages m_upcoming a load timeout before it comes
    QTimer m_floorTimer;                        // saves the time floor when due (spec §7)
    QTimer m_jumpTimer;                         // checkTimeJump() every second (a clock set is no timer event)
    // The last (trusted UTC ms, monotonic ms) sample: resolveAndArm() and
    // checkTimeJump() take one; none before the first.
    std::optional<std::pair<std::int64_t, std::int64_t>> m_trustedSample;
    bool m_clockTrusted = false;                // trusted at the last checkTimeJump(): a change re-plans §13 slots
    bool m_idle = true;                         // nothing on screen in any region: the idle screen shows
    int m_rotation = 0;
    std::int64_t m_transitions = 0;
    QString m_statusLine;
};

} // namespace stoa::player
