// player/command_runner.h — commands the sync agent hands to the player.
//
// The agent records a command id as executed and queues it for the player in
// one transaction (cache/commands.h); the player carries out pending
// handovers and marks each done or failed, exactly once:
//   screenshot      grab the window, JPEG to <data>/screenshots/<id>.jpg
//                   (the agent uploads it), done;
//   restart_player  done, then restartRequested(kRestartExitCode): main
//                   quits with that code and systemd starts it again;
//   display_on/off  the DisplaySwitch hook (main sets it to DisplayControl::
//                   command), asynchronous: the switch runs off the GUI
//                   thread (up to the tool's 5 s) and the handover is
//                   finished when its outcome comes back: done with what the
//                   device did, or failed with its error; no hook: failed at
//                   once, "display control is not configured
//                   (display_power = none)";
//   anything else   failed: not a player command.
// Checks run when the store changes (the ChangeWatcher's changed()) and on
// a slow timer as a fallback.
//
// At most once: a handover is finished once, by whoever carried it out. A
// display command whose switch is on its way stays "pending" in the store
// until its outcome arrives; the runner remembers its id (m_running) and
// later checks pass over it, so it is never started twice in a process. A
// restart_player handed over meanwhile waits for those switches to finish,
// so their outcomes are written before the player exits. (A crash mid-switch
// leaves the handover pending and the next start carries it out, as before.)
// GUI thread only.
#pragma once

#include "cache/store.h"

#include <QImage>
#include <QObject>
#include <QString>
#include <QTimer>

#include <expected>
#include <functional>
#include <set>
#include <string>

namespace stoa::player {

inline constexpr int kRestartExitCode = 75; // EX_TEMPFAIL: "run me again"

class CommandRunner : public QObject {
    Q_OBJECT
public:
    using Grabber = std::function<QImage()>;
    // The outcome of a display switch: the text (what the device did) or the
    // error becomes the handover's result. Called once, on the GUI thread.
    using DisplayDone = std::function<void(std::expected<std::string, std::string>)>;
    // Starts powering the screen on (true) or off and returns; `done` gets
    // the outcome when the switch is over (later, or before returning).
    using DisplaySwitch = std::function<void(bool on, DisplayDone done)>;

    CommandRunner(cache::Store &store, Grabber grab, QObject *parent = nullptr);

    // Empty (the default): display commands fail as not configured.
    void setDisplaySwitch(DisplaySwitch displaySwitch) { m_displaySwitch = std::move(displaySwitch); }

    // Takes up every pending handover now: finishes each, or starts it
    // (display commands, finished when their outcome arrives); returns how
    // many were taken up. Handovers already started are passed over.
    int check();

    // Display commands started and not finished.
    int running() const { return int(m_running.size()); }

signals:
    void restartRequested(int exitCode);
    // The handover `id` was finished in the store (done when ok).
    void handoverFinished(const QString &id, bool ok);

private:
    bool screenshot(const std::string &id, std::string &result);
    // Starts the display switch for handover `id`; false: not configured
    // (`result` says so, the caller finishes the handover).
    bool startDisplay(const std::string &id, const std::string &type, bool on, std::string &result);
    // Writes the outcome to the store and logs it; false if the store refused.
    bool finish(const std::string &id, const std::string &type, bool ok, const std::string &result);
    // A display switch's outcome arrived.
    void displayDone(const std::string &id, const std::string &type, std::expected<std::string, std::string> outcome);

    cache::Store &m_store;
    Grabber m_grab;
    DisplaySwitch m_displaySwitch;
    QTimer m_fallback;
    std::set<std::string> m_running; // ids of display handovers started, outcome not yet written
    bool m_restartWaiting = false;   // restart_player done; restartRequested once m_running is empty
};

} // namespace stoa::player
