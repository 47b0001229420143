// player/playback.h — the player's core: what is on screen, and what comes next.
//
// Owns the active manifest (re-read from the store when the ChangeWatcher
// sees a new activation), asks the schedule engine what plays now and when
// that changes (ONE schedule timer at nextChange), and drives two MediaSlots:
// the one on screen and the hidden one holding the next item, loaded ahead
// so the switch is a single frame. QML renders the slots and reports back.
//
// Rules (docs/player.md has the walk-through):
//  - gapless: a switch happens only when the incoming slot is Ready; the
//    outgoing slot is released after the incoming one is shown (same frame,
//    or after the fade), so at no time are both hidden while content plays;
//  - an item ends when its duration elapses (item timer), when its video
//    ends, or at a schedule boundary; if the next item is not ready yet the
//    current one stays on screen until it is;
//  - the next item is drawn from the playlists in force at the instant it
//    will be shown: if a schedule boundary comes before the current item's
//    end, it is taken from the boundary's playlists and shown AT the
//    boundary (preloaded, so the boundary switch is on time);
//  - a new manifest takes effect at the next item boundary: the hidden slot
//    is reloaded from it, the current item finishes;
//  - never dark: an item that cannot be played (missing blob, unsupported
//    type, web content not built or turned off, a page that fails to load,
//    decode error, not ready within the load timeout, a video stalled) is
//    skipped, logged as a play with completed=false and a reason, and
//    marked bad: passed over until its retry time (badRetry, doubling per
//    failure up to badRetryMax; cleared by a new manifest or a good play);
//  - what is on screen stays until a replacement is ready: when nothing
//    else is playable (every other item bad, or a page alone whose reload
//    failed) an item still in force that did not fail itself is held, each
//    further turn a new play, and the bad items are tried again at their
//    retry time; the idle screen (device id, state) is only for nothing
//    playable AND nothing good on screen (no manifest, nothing scheduled,
//    the item on screen failed or left the schedule), and while it shows
//    because items failed, they are tried again at their retry time;
//  - an item's failures are forgotten when it completes a play, not when it
//    is shown (an item that fails on screen each time keeps backing off);
//  - web items: a page's load timeout counts from the moment the web engine
//    is warm (warmed up in the background when the active or staged
//    manifest has web items), so Chromium's cold start is not the page's;
//  - every play goes to the store's play log (PlayRecorder).
// Time: schedule decisions use trusted time (TrustedClock over the injected
// Clocks); durations and timers use the monotonic clock.
#pragma once

#include "cache/changes.h"
#include "cache/store.h"
#include "player/active_manifest.h"
#include "player/bad_items.h"
#include "player/item_picker.h"
#include "player/media_slot.h"
#include "player/play_recorder.h"
#include "player/web_setup.h"
#include "player/web_warm_up.h"
#include "schedule/trusted_time.h"

#include <QObject>
#include <QTimer>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stoa::player {

struct PlaybackConfig {
    std::string deviceId;
    int rotation = 0;                               // local setting; a manifest's settings win
    int fadeMs = 0;                                 // default fade for items without fade_ms
    std::chrono::milliseconds loadTimeout{5000};    // an item not ready by then is skipped
    std::chrono::milliseconds badRetry{60000};      // a failed item is tried again after this, doubled per failure
    std::chrono::milliseconds badRetryMax{1800000}; // ... up to this
    // The web engine's warm-up (a hidden blank page) not done by then: the
    // pages' load timers start anyway, and the failure is logged.
    std::chrono::milliseconds webWarmUpTimeout{30000};
    // false: no warm-up, a page's timer runs from its load (the behaviour
    // before it: bench/web_start_bench.sh's baseline).
    bool webWarmUp = true;
    std::chrono::milliseconds watchInterval{250};   // ChangeWatcher poll
    std::int64_t defaultImageMs = 10000;            // spec §3 default for images; also web pages without duration_ms
    // Play web items (config `web`, docs/web.md). Off, or not built in: they are skipped and reported.
    bool web = kWebBuiltIn;
};

// Why a web item is skipped without a slot: the feature is not built, or turned off.
inline constexpr const char *kWebNotBuiltIn = "web content not built in";
inline constexpr const char *kWebTurnedOff = "web content turned off (web = off)";

class Playback : public QObject {
    Q_OBJECT
    Q_PROPERTY(stoa::player::MediaSlot *slotA READ slotA CONSTANT)
    Q_PROPERTY(stoa::player::MediaSlot *slotB READ slotB CONSTANT)
    Q_PROPERTY(bool idle READ idle NOTIFY idleChanged)
    Q_PROPERTY(QString statusLine READ statusLine NOTIFY statusLineChanged)
    Q_PROPERTY(QString deviceId READ deviceId CONSTANT)
    Q_PROPERTY(int rotation READ rotation NOTIFY rotationChanged)
    // The web engine's warm-up: QML keeps its hidden page (qml/WebWarmUp.qml).
    Q_PROPERTY(stoa::player::WebWarmUp *webWarmUp READ webWarmUp CONSTANT)
public:
    Playback(cache::Store &store, schedule::Clocks clocks, PlaybackConfig config, QObject *parent = nullptr);
    ~Playback() override;

    // Reads the active manifest, opens the change watcher, starts playing.
    // False only when the store cannot be watched (then nothing will ever change).
    bool start();

    MediaSlot *slotA() { return m_slots[0].get(); }
    MediaSlot *slotB() { return m_slots[1].get(); }
    bool idle() const { return m_current < 0; }
    QString statusLine() const { return m_statusLine; }
    QString deviceId() const { return QString::fromStdString(m_config.deviceId); }
    int rotation() const { return m_rotation; }
    WebWarmUp *webWarmUp() { return &m_webWarmUp; }

    // The item on screen, if any.
    const PlannedItem *current() const;
    std::int64_t transitions() const { return m_transitions; }
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
    const schedule::Manifest *manifest() const { return m_manifest ? &*m_manifest : nullptr; }
    schedule::TrustedClock &clock() { return m_clock; }
    // Checks the store for a new active manifest now (tests; normally the watcher does it).
    void checkForManifest();

    // --- Reports from QML (qml/MediaSlot.qml), tagged with the slot's generation.
    Q_INVOKABLE void slotReady(int slot, int generation);
    Q_INVOKABLE void slotFailed(int slot, int generation, const QString &reason);
    Q_INVOKABLE void slotEnded(int slot, int generation);

signals:
    void idleChanged();
    void statusLineChanged();
    void rotationChanged();
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

private:
    struct Outcome {
        bool completed = false;
        std::optional<std::string> reason = "interrupted";
    };

    MediaSlot &slot(int i) { return *m_slots[std::size_t(i)]; }
    int hiddenIndex() const { return m_current < 0 ? 0 : 1 - m_current; }
    std::int64_t monoNow() const { return m_clocks.monotonicMs(); }

    void adopt(std::optional<schedule::Manifest> manifest);
    void resolveAndArm();
    void onScheduleTimer();
    void onItemTimer();

    PlannedItem plan(const Pick &pick, const std::vector<std::string> &set, std::optional<std::string> &unplayable);
    void prepareNext();
    void trySwitch();
    void switchTo(int incoming);
    void closeCurrent();
    void goIdle();
    // Idle because items failed: the retry timer at the first retry time.
    void armRetry();
    // Nothing else playable: keeps the good item on screen for another turn
    // (true), or false when there is none to keep.
    bool holdCurrent();
    // Starts or drops the web warm-up for what the active and staged manifests hold.
    void updateWebWarmUp();
    void failItem(const PlannedItem &item, const std::string &reason, const char *outcome);
    void setStatus(const QString &line);
    void setRotation(int degrees);
    // Saves the trusted clock's floor to the store when due, or now with
    // `force` (shutdown), and re-arms the timer.
    void persistTimeFloor(bool force);
    QString idleReason() const;

    cache::Store &m_store;
    schedule::Clocks m_clocks;
    PlaybackConfig m_config;
    schedule::TrustedClock m_clock;
    PlayRecorder m_recorder;
    std::unique_ptr<cache::ChangeWatcher> m_watcher;
    std::unique_ptr<MediaSlot> m_slots[2];

    std::optional<schedule::Manifest> m_manifest;
    std::int64_t m_manifestGeneration = -1;     // store activation generation last read
    std::vector<std::string> m_playlists;       // in force now (empty: idle by schedule)
    std::optional<std::int64_t> m_nextChangeMono; // monotonic ms of the next schedule change
    ItemPicker m_picker;
    BadItems m_bad;                             // content failed under this manifest, and its retry times
    WebWarmUp m_webWarmUp;                      // Chromium started ahead of the first page

    int m_current = -1;                         // slot on screen; -1: idle screen
    bool m_currentFailed = false;               // the item on screen failed there (never held)
    bool m_holding = false;                     // the item on screen is held: nothing else was playable
    bool m_switchDue = true;                    // the current item is over (or none is shown)
    QDateTime m_currentStartedUtc;
    std::int64_t m_currentStartedMono = 0;
    std::optional<std::int64_t> m_currentEndMono; // planned end (duration), if known
    Outcome m_outcome;

    QTimer m_scheduleTimer;                     // the one timer at the schedule's next change
    QTimer m_itemTimer;                         // the current item's duration
    QTimer m_fadeTimer;                         // releases the outgoing slot after a fade
    QTimer m_floorTimer;                        // saves the time floor when due (spec §7)
    QTimer m_retryTimer;                        // idle because items failed: tries them again at their retry time
    int m_fadingOut = -1;                       // slot kept visible under a fade-in
    int m_z = 0;
    int m_rotation = 0;
    std::int64_t m_transitions = 0;
    QString m_statusLine;
    bool m_firstContentLogged = false;
};

} // namespace stoa::player
