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
//                   command): done with what the device did, or failed with
//                   its error; no hook: failed, "display control is not
//                   configured (display_power = none)";
//   anything else   failed: not a player command.
// Checks run when the store changes (the ChangeWatcher's changed()) and on
// a slow timer as a fallback.
#pragma once

#include "cache/store.h"

#include <QImage>
#include <QObject>
#include <QTimer>

#include <expected>
#include <functional>
#include <string>

namespace stoa::player {

inline constexpr int kRestartExitCode = 75; // EX_TEMPFAIL: "run me again"

class CommandRunner : public QObject {
    Q_OBJECT
public:
    using Grabber = std::function<QImage()>;
    // Powers the screen on (true) or off; the text (what the device did) or
    // the error becomes the handover's result.
    using DisplaySwitch = std::function<std::expected<std::string, std::string>(bool on)>;

    CommandRunner(cache::Store &store, Grabber grab, QObject *parent = nullptr);

    // Empty (the default): display commands fail as not configured.
    void setDisplaySwitch(DisplaySwitch displaySwitch) { m_displaySwitch = std::move(displaySwitch); }

    // Carries out every pending handover now; returns how many were handled.
    int check();

signals:
    void restartRequested(int exitCode);

private:
    bool screenshot(const std::string &id, std::string &result);
    bool display(bool on, std::string &result);

    cache::Store &m_store;
    Grabber m_grab;
    DisplaySwitch m_displaySwitch;
    QTimer m_fallback;
};

} // namespace stoa::player
