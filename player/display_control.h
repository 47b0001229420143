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
//    set successfully; at start it is always set (the state the screen was
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
// DisplayPower::setPower is synchronous and runs on this (the GUI) thread,
// bounded by the method's tool timeout (5 s by default): the "drm" switch
// must run on the thread that owns the KMS screen.
#pragma once

#include "player/display_power.h"
#include "player/playback.h"

#include <QDateTime>
#include <QObject>
#include <QTimer>

#include <expected>
#include <optional>
#include <string>

namespace stoa::player {

class DisplayControl : public QObject {
    Q_OBJECT
public:
    // `playback` and `power` must outlive the DisplayControl.
    DisplayControl(Playback &playback, DisplayPower &power, QObject *parent = nullptr);

    // Resolves the window now, sets the power and arms the flip timer. Call
    // once (before or after Playback::start(); each adopted manifest
    // re-resolves by itself).
    void start();

    // display_on (true) / display_off (false): sets the power now and holds
    // it until the next scheduled flip. The text says what the device did
    // and how long the state holds; an error leaves the schedule in charge.
    // Fits CommandRunner::DisplaySwitch.
    std::expected<std::string, std::string> command(bool on);

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

signals:
    // isOn / lastReport / lastError / override / next flip changed.
    void stateChanged();

private:
    // Re-reads the window at trusted now; sets the power when `force` or when
    // the wanted state differs from m_applied; re-arms the timer. `why` is logged.
    void resolve(bool force, const char *why);
    void onFlipTimer();
    void arm(const QDateTime &nowUtc);
    std::expected<DisplayPowerReport, std::string> apply(bool on, const char *why);

    Playback &m_playback;
    DisplayPower &m_power;
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
