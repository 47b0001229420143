// player/region_player.h — one rectangle of the screen and its two slots:
// what it shows, what comes next, and the gapless switch between them.
//
// The full screen is one RegionPlayer (the unit rectangle, playing the tied
// playlists in force); a v1.1 §12 layout is one RegionPlayer per region (its
// rectangle and z, playing the region's one playlist). Playback owns them,
// the manifest, the schedule and everything shared (trusted clock, bad
// items, play log, web warm-up); a RegionPlayer only switches its own slots.
//
// Rules (docs/player.md has the walk-through):
//  - gapless: a switch happens only when the incoming slot is Ready; the
//    outgoing slot is released after the incoming one is shown (same frame,
//    or after the fade), so at no time are both hidden while content plays;
//  - the next item is loaded into the hidden slot a moment after a switch
//    (kPreloadAfterSwitchMs), not at it: its load's work stays off the
//    frames of the switch. A timed item keeps at least kPreloadMarginMs of
//    its duration for the load (one of a second or less loads the next at
//    once); whatever needs it sooner (the item on screen over early, a
//    boundary) loads it at once;
//  - an item ends when its duration elapses (item timer), when its video
//    ends, or at a schedule boundary; if the next item is not ready yet the
//    current one stays on screen until it is;
//  - the next item is drawn from the playlists this region will play at the
//    instant it is shown (RegionHost::playlistsAt): a boundary before the
//    current item's end decides, and the item is shown AT the boundary;
//  - never dark: an item that cannot be played is skipped, logged with
//    completed=false and a reason, and marked bad until its retry time;
//  - what is on screen stays until a replacement is ready (held when
//    nothing else is playable); with nothing to show the region is empty:
//    transparent in a layout, the idle screen beneath when nothing at all
//    shows (Playback::idle);
//  - every play goes to the play log, with the layout and region of an item
//    of a region (spec §6 + §12);
//  - staged (v1.1 §12 changes of layout, gapless): stage() loads the first
//    item into the hidden slot without showing it; go() shows it (at the
//    change's instant, when every staged region is prepared()). Nothing
//    switches in between;
//  - v1.1 §13: a region whose playlist in force is one synchronised
//    playlist and whose clock is trusted plays it in step: the item is the
//    one schedule::syncSlotAt() gives for trusted now (not the picker's),
//    the next slot's item is loaded ahead into the hidden slot, and the
//    switch happens AT that slot's start (m_slotTimer, armed from the
//    trusted distance to it on the monotonic clock, re-armed by
//    timeJumped()); never before it, whatever the item on screen does (a
//    video ending early holds its last frame); the gapless rule still
//    holds: an item not Ready at its instant comes the moment it is, and
//    the lateness is logged. A video that comes after its slot began
//    (joining mid-slot, or late) is sought BEFORE it is shown, in its
//    hidden slot, to where the slot will stand then (positionHidden()),
//    and shown at the instant of that frame: its first picture is
//    already in step. The slot is Ready meanwhile and what is on screen
//    stays; a seek that does not land within kSeekWaitMs (1.5 s) is given up:
//    the video is shown as it is and sought again on screen (a jump,
//    never a gap). With an untrusted clock the playlist plays as an
//    ordinary one (unsynchronised).
//
// Files by concern: region_player.cpp (what Playback tells it, the switch,
// the slots' reports), region_planning.cpp (the next item, skipping and
// holding), region_sync.cpp (v1.1 §13 in step).
#pragma once

#include "cache/store.h"
#include "player/bad_items.h"
#include "player/item_picker.h"
#include "player/media_slot.h"
#include "player/play_recorder.h"
#include "player/playback_config.h"
#include "schedule/manifest.h"
#include "schedule/trusted_time.h"

#include <QDateTime>
#include <QObject>
#include <QRectF>
#include <QTimer>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stoa::player {

// Where a RegionPlayer sits: the full screen, or a region of a layout.
struct RegionPlace {
    std::optional<std::string> layout; // absent: the full screen
    std::string region;                // the region's id (empty for the full screen)
    schedule::FractionRect rect;       // of the rotated screen
    int z = 0;                         // higher on top
    bool operator==(const RegionPlace &) const = default;
};

// What a RegionPlayer needs from the screen it belongs to (Playback, which
// owns its regions and outlives them): the parts every region shares, the
// schedule's answer for a later instant, and where it reports what it did.
// All on the GUI thread.
class RegionHost {
public:
    virtual const PlaybackConfig &config() const = 0;
    // The adopted manifest; nullptr before any.
    virtual const schedule::Manifest *manifest() const = 0;
    virtual cache::Store &store() = 0;
    // Shared by every region: an item bad in one is bad in all.
    virtual BadItems &badItems() = 0;
    virtual PlayRecorder &recorder() = 0;
    // The web engine is warm (a page's load timer may start).
    virtual bool webWarm() const = 0;
    virtual std::int64_t monoNow() const = 0;
    // Trusted now (spec §7), for play records.
    virtual QDateTime trustedUtcNow() = 0;
    // Trusted now and whether it is trusted (v1.1 §13 plays in step only then).
    virtual schedule::TrustedNow trustedNow() = 0;
    // Monotonic ms of the schedule's next change; nullopt: none.
    virtual std::optional<std::int64_t> nextChangeMono() const = 0;
    // What the region at `place` plays at monotonic instant `mono`.
    virtual std::vector<std::string> playlistsAt(const RegionPlace &place, std::int64_t mono) = 0;
    // An item came on screen (`lateMs` -1: untimed); one is held another
    // turn; the region shows nothing any more.
    virtual void regionSwitched(const PlannedItem &item, std::int64_t lateMs) = 0;
    virtual void regionHeld(const PlannedItem &item) = 0;
    virtual void regionEmptied() = 0;
    // An item was skipped or failed; `outcome` ("skipped", "failed") for the
    // metrics, nullptr when it was already counted.
    virtual void regionItemFailed(const PlannedItem &item, const QString &reason, const char *outcome) = 0;

protected:
    ~RegionHost() = default;
};

class RegionPlayer : public QObject {
    Q_OBJECT
    Q_PROPERTY(stoa::player::MediaSlot *slotA READ slotA CONSTANT)
    Q_PROPERTY(stoa::player::MediaSlot *slotB READ slotB CONSTANT)
    // Fractions of the rotated screen (QML multiplies by the stage's size).
    Q_PROPERTY(QRectF rect READ rect CONSTANT)
    Q_PROPERTY(int z READ z CONSTANT)
    Q_PROPERTY(QString regionId READ regionId CONSTANT)
public:
    RegionPlayer(RegionHost &host, RegionPlace place, QObject *parent = nullptr);
    ~RegionPlayer() override;

    MediaSlot *slotA() { return m_slots[0].get(); }
    MediaSlot *slotB() { return m_slots[1].get(); }
    QRectF rect() const { return {m_place.rect.x, m_place.rect.y, m_place.rect.w, m_place.rect.h}; }
    int z() const { return m_place.z; }
    QString regionId() const { return QString::fromStdString(m_place.region); }
    const RegionPlace &place() const { return m_place; }

    // Something is on screen in this region.
    bool showing() const { return m_current >= 0; }
    const PlannedItem *current() const;
    // When the item on screen is planned to end (monotonic ms); nullopt:
    // nothing on screen, or it ends by itself (a video without a duration).
    std::optional<std::int64_t> currentEndMono() const { return m_current >= 0 ? m_currentEndMono : std::nullopt; }
    // The playlists it plays now (empty: nothing).
    const std::vector<std::string> &playlists() const { return m_playlists; }

    // Starts with `playlists` (or shows nothing with none).
    void begin(std::vector<std::string> playlists);
    // A schedule boundary: from now on it plays `playlists` (the current
    // item is interrupted when they differ).
    void boundary(std::vector<std::string> playlists);
    // A new manifest was adopted: positions are forgotten, the hidden slot is
    // planned again; the item on screen finishes first.
    void manifestAdopted(std::vector<std::string> playlists);
    // Shows nothing any more (the item on screen is logged and released).
    void clear();
    // v1.1 §12 gapless changes: with nothing on screen, loads the first item
    // of `playlists` into the hidden slot and shows it only at go();
    // `showMono`: the instant go() is meant for (a synchronised playlist's
    // slot is the one of then), nullopt: now.
    void stage(std::vector<std::string> playlists, std::optional<std::int64_t> showMono = std::nullopt);
    void go();
    // Staged, and its hidden slot is no longer loading (ready, or nothing
    // playable: go() then leaves the region empty).
    bool prepared() const;
    // The web engine is warm: pages loading now start their load timers.
    void webWarm();
    // Trusted time moved apart from the monotonic clock, or its trust
    // changed: a synchronised playlist's slots are found again (the item on
    // screen is replaced by the one of the slot now, in step or not).
    void timeJumped();
    // v1.1 §13: the synchronised playlist this region plays (the one
    // playlist in force carrying `sync`); nullptr: none.
    const schedule::Playlist *syncPlaylist() const { return syncPlaylistOf(m_playlists); }

    // --- Reports from QML (qml/MediaSlot.qml), tagged with the slot's generation.
    Q_INVOKABLE void slotReady(int slot, int generation);
    Q_INVOKABLE void slotFailed(int slot, int generation, const QString &reason);
    Q_INVOKABLE void slotEnded(int slot, int generation);
    // The frame a hidden video was sought to is in its sink (positionHidden()).
    Q_INVOKABLE void slotSought(int slot, int generation);

signals:
    // A staged region's hidden slot settled (prepared() became true).
    void preparedChanged();
    // The item on screen is over (its time ran out, or its video ended),
    // before the next one is looked for: Playback ends a turn of tied
    // contents here (v1.1 §12), the item counting as completed.
    void itemOver();

private:
    // A synchronised video shown this much after its slot began is sought to
    // where the slot stands (less is a frame of 25 fps content: not worth a
    // flushing seek, which itself costs a few frames).
    static constexpr std::int64_t kSeekAfterMs = 40;

    struct Outcome {
        bool completed = false;
        std::optional<std::string> reason = "interrupted";
    };

    MediaSlot &slot(int i) { return *m_slots[std::size_t(i)]; }
    int hiddenIndex() const { return m_current < 0 ? 0 : 1 - m_current; }

    const schedule::Playlist *syncPlaylistOf(const std::vector<std::string> &set) const;
    // Loads the hidden slot with the synchronised playlist's item for the
    // slot at trusted instant `fromMs` (the next usable one after it when
    // that item cannot play). False: nothing of it can play.
    bool prepareSlot(const std::vector<std::string> &set, const schedule::Playlist &playlist, std::int64_t fromMs);
    // When the next switch is due by the slot grid: the hidden item's slot
    // start, else the synchronised item on screen's slot end; nullopt: not
    // by the grid (trusted UTC ms).
    std::optional<std::int64_t> slotSwitchAt() const;
    // Arms m_slotTimer for slotSwitchAt() (stops it when none).
    void armSlotTimer();
    void onSlotTimer();
    PlannedItem plan(const Pick &pick, const std::vector<std::string> &set, std::optional<std::string> &unplayable);
    void onItemTimer();
    // The item on screen ended (m_outcome set): itemOver(), then the next one.
    void endItem();
    // Emits preparedChanged() when staged and settled.
    void reportPrepared();
    void prepareNext();
    void trySwitch();
    // v1.1 §13: whether the Ready hidden slot may be shown now. A
    // synchronised video past its slot's start is first sought (hidden) to
    // where the slot will stand once the frame is there, and waited for;
    // false while it is (m_seekTimer or slotSought() come back to trySwitch()).
    bool positionHidden(MediaSlot &hidden);
    // The sought frame's instant came, or the seek's deadline (then it is given up).
    void onSeekTimer();
    void switchTo(int incoming);
    void closeCurrent();
    // Nothing to show: releases both slots (the region is transparent).
    void empty();
    void armRetry();
    bool holdCurrent();
    void failItem(const PlannedItem &item, const std::string &reason, const char *outcome);

    RegionHost &m_host;
    RegionPlace m_place;
    std::unique_ptr<MediaSlot> m_slots[2];
    std::vector<std::string> m_playlists;       // in force now for this region (empty: nothing)
    ItemPicker m_picker;

    int m_current = -1;                         // slot on screen; -1: nothing
    bool m_currentFailed = false;               // the item on screen failed there (never held)
    bool m_holding = false;                     // the item on screen is held: nothing else was playable
    bool m_switchDue = true;                    // the current item is over (or none is shown)
    QDateTime m_currentStartedUtc;
    std::int64_t m_currentStartedMono = 0;
    std::optional<std::int64_t> m_currentEndMono; // planned end (duration), if known
    Outcome m_outcome;

    QTimer m_itemTimer;                         // the current item's duration
    QTimer m_fadeTimer;                         // releases the outgoing slot after a fade
    QTimer m_retryTimer;                        // empty because items failed: tries them again at their retry time
    QTimer m_slotTimer;                         // v1.1 §13: the hidden item's slot start (the switch instant)
    QTimer m_preloadTimer;                      // loads the next item a moment after a switch (switchTo())
    bool m_slotMissed = false;                  // the slot began before its item was Ready: log the lateness
    bool m_resync = false;                      // timeJumped(): the next slot is found from now
    // A hidden synchronised video being sought before it is shown (positionHidden()).
    struct HiddenSeek {
        int slot = -1;
        int generation = -1;
        std::int64_t targetMs = 0;   // into the video; shown at slot start + this
        std::int64_t issuedMono = 0;
        int attempts = 0;
        bool landed = false;         // its frame is in the sink
        bool gaveUp = false;         // not landed within kSeekWaitMs: shown as it is
    };
    std::optional<HiddenSeek> m_seek;
    QTimer m_seekTimer;                         // the sought frame's instant, or the seek's deadline
    int m_fadingOut = -1;                       // slot kept visible under a fade-in
    bool m_staged = false;                      // stage(): loading ahead, no switch until go()
    std::optional<std::int64_t> m_stagedFor;    // when go() is meant to come (monotonic ms)
    int m_z = 0;                                // the slots' stacking inside the region
};

} // namespace stoa::player
