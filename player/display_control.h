// player/display_control.h — the screen's power, kept in line with the
// active manifest's `display` window (spec §3) and the display_on /
// display_off commands.
//
// Rules (docs/player.md, "Display power"):
//  - schedule: the screen is on inside the window [on, off) of the manifest
//    in force, by trusted time (TrustedClock); no window: always on. The
//    state is resolved at start, whenever a manifest is adopted, and at the
//    window's next flip, for which ONE single-shot monotonic timer is armed
//    (the UTC instant turned into a delay from trusted now, as Playback does
//    for schedule changes; a timer that fires early, or is capped at 24 h,
//    re-arms for the rest instead of flipping).
//  - the power is set only when the wanted state differs from what was last
//    set successfully (or, while switches are on their way, from what the
//    last one asked); at start it is always set (the state the screen was
//    left in is unknown), and after a failure the state counts as unknown, so
//    the next resolve (flip, manifest, command) sets it again: that is the
//    retry.
//  - manual override: display_on / display_off set the power now (even if it
//    already is in that state) and hold it until the next scheduled flip of
//    the window in force; at that flip the schedule takes over again. A new
//    manifest does not end the override (a command arrives inside a
//    manifest, and the player may see the new manifest after the command);
//    it only recomputes when the next flip is. Without a window there is no
//    flip: the override holds until the next display command or a restart
//    (it is not persisted: at start the window decides). A command that
//    fails sets no override.
//  - playback is not touched: while the screen is off, items keep playing and
//    proof of play keeps recording (see docs/player.md for why).
//  - a failing DisplayPower never stops anything: the error is logged as a
//    warning and kept for diagnostics (lastError()); each change is logged at
//    info with what the device answered (the report's detail).
//
// Threads (issue 15, "Nothing blocks the screen"): DisplayPower::setPower
// blocks (an external tool, up to its 5 s timeout), so it never runs on the
// GUI thread. DisplayControl owns one worker thread; every setPower runs
// there, one at a time, in the order asked, and its outcome comes back to the
// GUI thread by a queued call (onSwitched). Everything else (the window, the
// timer, the state below, the accessors, the signals) lives on the GUI thread
// only. While a switch is on its way:
//  - isOn()/lastReport()/lastError() still say what the last finished switch
//    did; switchesPending() counts the switches asked and not finished;
//  - the schedule asks for a switch only when its wanted state differs from
//    what the last switch asked will leave (not from isOn()), so a flip or a
//    manifest arriving mid-switch neither repeats nor reorders it;
//  - while a command's switch is pending, the schedule asks for nothing (the
//    command's outcome decides whether an override holds); the resolve it
//    missed runs when the command finishes, so a command that fails still
//    hands over to the window.
// The destructor stops the worker and waits for a switch in progress (at
// most the method's timeout); outcomes not yet delivered are dropped with
// the object (a command's callback is then never called: its handover stays
// pending and the next start carries it out, as after a crash).
#pragma once

#include "player/display_power.h"
#include "player/playback.h"

#include <QDateTime>
#include <QObject>
#include <QThread>
#include <QTimer>

#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace stoa::player {

class DisplayControl : public QObject {
    Q_OBJECT
public:
    // What a display command did: the text (what the device answered and how
    // long the state holds) or the error. Called on the GUI thread.
    using CommandDone = std::function<void(std::expected<std::string, std::string>)>;

    // `playback` and `power` must outlive the DisplayControl. Starts the
    // worker thread; nothing is switched before start().
    DisplayControl(Playback &playback, DisplayPower &power, QObject *parent = nullptr);
    // Stops the worker, waiting for a switch in progress (header comment).
    ~DisplayControl() override;
    DisplayControl(const DisplayControl &) = delete;
    DisplayControl &operator=(const DisplayControl &) = delete;

    // Resolves the window now, asks the worker to set the power and arms the
    // flip timer; returns at once. Call once (before or after
    // Playback::start(); each adopted manifest re-resolves by itself).
    void start();

    // display_on (true) / display_off (false): asks the worker to set the
    // power (after any switch already asked) and returns at once. When the
    // switch is done, a success holds the state until the next scheduled flip
    // and `done` gets what the device did and how long the state holds; an
    // error holds nothing, leaves the schedule in charge and goes to `done`.
    // Fits CommandRunner::DisplaySwitch.
    void command(bool on, CommandDone done);

    // --- For the diagnostics screen and /status.
    // The state last set successfully; nullopt before the first success and
    // after a failure (the screen's state is then unknown).
    std::optional<bool> isOn() const { return m_applied; }
    // What the window (or an override) wants now.
    bool wantedOn() const { return m_wanted; }
    // The held command state, if an override is in force.
    std::optional<bool> manualOverride() const { return m_override; }
    // Trusted UTC instant of the window's next flip; nullopt: no window.
    std::optional<QDateTime> nextFlip() const { return m_nextFlipUtc; }
    // The last successful report.
    const std::optional<DisplayPowerReport> &lastReport() const { return m_lastReport; }
    // The error of the last attempt if it failed; cleared by a success.
    const std::optional<std::string> &lastError() const { return m_lastError; }
    QString method() const { return m_power.method(); }
    // Switches asked and not finished (the one on the worker included).
    int switchesPending() const { return int(m_switches.size()); }

signals:
    // isOn / lastReport / lastError / override / next flip changed.
    void stateChanged();
    // A setPower call finished (either way); the accessors hold its outcome.
    void switched();

private:
    // One setPower asked of the worker.
    struct Switch {
        bool on = false;
        const char *why = "";    // a string literal: logged with the outcome
        bool command = false;    // a display command's switch (its outcome decides the override)
        CommandDone done;        // the command's callback; empty for the schedule's switches
    };

    // Re-reads the window at trusted now; asks for a switch when `force` or
    // when the wanted state differs from what the switches asked will leave;
    // re-arms the timer. `why` is logged. Deferred while a command is pending.
    void resolve(bool force, const char *why);
    void onFlipTimer();
    void arm(const QDateTime &nowUtc);
    // Queues a switch; hands it to the worker if none is running.
    void ask(Switch s);
    // Hands the front of m_switches to the worker.
    void sendFront();
    // The worker's outcome for the front switch (GUI thread, queued).
    void onSwitched(std::expected<DisplayPowerReport, std::string> report);
    // The state the screen is left in once every asked switch has succeeded.
    std::optional<bool> lastAsked() const;
    bool commandPending() const;

    Playback &m_playback;
    DisplayPower &m_power;                   // setPower called on m_worker's thread only
    QThread m_thread;                        // the worker thread; started by the constructor, joined by the destructor
    QObject m_worker;                        // lives on m_thread: the context the switches run in
    std::deque<Switch> m_switches;           // asked, in order; the front runs on the worker (GUI thread owns the queue)
    std::optional<std::pair<bool, const char *>> m_deferred; // a resolve skipped while a command was pending: force, why
    QTimer m_flipTimer;                      // the one timer at the next flip
    bool m_started = false;                  // start() called: manifests are followed from then on
    std::optional<QDateTime> m_nextFlipUtc;  // when the window flips next (trusted UTC)
    bool m_scheduledOn = true;               // what the window alone wants now
    bool m_wanted = true;                    // the override if any, else m_scheduledOn
    std::optional<bool> m_override;          // held command state until m_nextFlipUtc
    std::optional<bool> m_applied;           // last state set successfully; nullopt: unknown
    std::optional<DisplayPowerReport> m_lastReport;
    std::optional<std::string> m_lastError;
};

} // namespace stoa::player
