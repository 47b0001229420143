// player/diagnostics.h — the installer diagnostics screen's model and its opening rules.
//
// Job: gather a DeviceState (device_state.h) from the store, the agent's
// status, Playback and the kernel, word it (diagnostics_text.h) and expose
// it to qml/Diagnostics.qml; decide when the screen is open.
//
// Opening and closing (docs/player.md, "Diagnostics"):
//  - F1, `d`, or a 3 s long press in a corner toggle it (DiagnosticsGestures);
//    opened that way it closes after 60 s without any input;
//  - `--diagnostics` opens it at start, pinned: no idle timeout, the same
//    gestures close it (a commissioning run wants it to stay);
//  - automatically (when enabled) while the device has no active manifest or
//    no server is configured (neither the config file nor the agent's status
//    names one): no idle timeout; it closes by itself when the condition
//    clears. Closing it by gesture dismisses it until the condition has
//    cleared and come back.
// Invariants:
//  - while closed nothing is gathered and no timer runs (the auto rule is
//    re-checked only when Playback switches or another process commits to
//    the store);
//  - while open it refreshes every `refreshInterval` (1 s);
//  - playback is never paused or covered entirely: the screen is an overlay.
#pragma once

#include "cache/store.h"
#include "player/device_state.h"
#include "player/diagnostics_gestures.h"
#include "player/diagnostics_text.h"

#include <QObject>
#include <QStringList>
#include <QTimer>
#include <QVariantList>

#include <chrono>
#include <map>
#include <string>



namespace stoa::player {

class Playback;

// What the diagnostics QR code holds: with the hub console's address
// (`hub_console_url`), the address of this device's page there
// (CONSOLE/#/device/ID, the console's own route, which it keeps through
// sign-in), so an installer's phone opens it; without, the device id.
QString qrText(const std::string &consoleUrl, const QString &deviceId);

struct DiagnosticsConfig {
    std::string configuredServer;                    // the config file's `server`
    std::uint64_t quotaBytes = 0;                    // the config file's `quota`
    std::string consoleUrl;                          // `hub_console_url`; empty: the QR code holds the device id
    HealthProvider health;                           // sensors; empty: "n/a"
    std::vector<std::string> startupProblems;        // e.g. a refused stoa.conf line: shown, and opens the screen
    std::function<std::string()> display;            // display power in words (DisplayControl); empty: none
    bool openAtStart = false;                        // --diagnostics
    bool autoOpen = false;                           // open by itself (stoa-player turns it on)
    std::chrono::milliseconds idleTimeout{60000};    // closes a manually opened screen
    std::chrono::milliseconds longPress{3000};       // corner press to toggle
    std::chrono::milliseconds refreshInterval{1000};
    double cornerFraction = 0.15;                    // corner square side / window's shorter side
};

class Diagnostics : public QObject {
    Q_OBJECT
    Q_PROPERTY(bool open READ isOpen NOTIFY openChanged)
    Q_PROPERTY(QString openReason READ openReason NOTIFY openChanged)
    Q_PROPERTY(QString deviceId READ deviceId CONSTANT)
    Q_PROPERTY(QString version READ version CONSTANT)
    Q_PROPERTY(QString qrSource READ qrSource CONSTANT)
    Q_PROPERTY(QString headline READ headline NOTIFY refreshed)
    Q_PROPERTY(QString headlineLevel READ headlineLevel NOTIFY refreshed)
    Q_PROPERTY(QVariantList leftSections READ leftSections NOTIFY refreshed)
    Q_PROPERTY(QVariantList rightSections READ rightSections NOTIFY refreshed)
    Q_PROPERTY(QStringList errors READ errors NOTIFY refreshed)
    Q_PROPERTY(QString footer READ footer NOTIFY openChanged)
public:
    enum class Reason { Closed, Manual, Flag, Auto };

    // `store` and `playback` must outlive the Diagnostics.
    Diagnostics(cache::Store &store, Playback &playback, DiagnosticsConfig config, QObject *parent = nullptr);

    // Installs the gestures on the window.
    void attach(QWindow *window);
    // Applies --diagnostics and the auto rule; call after Playback::start().
    void start();

    bool isOpen() const { return m_reason != Reason::Closed; }
    Reason reason() const { return m_reason; }
    QString openReason() const;
    QString deviceId() const;
    QString version() const { return QStringLiteral(STOA_VERSION); }
    QString qrSource() const;
    QString headline() const { return m_text.headline; }
    QString headlineLevel() const { return m_text.headlineLevel; }
    QVariantList leftSections() const;
    QVariantList rightSections() const;
    QStringList errors() const { return m_text.errors; }
    QString footer() const;

    // The last snapshot shown (refreshed while open).
    const DeviceState &state() const { return m_state; }
    const DiagnosticsText &text() const { return m_text; }
    // A fresh snapshot now, whether or not the screen is open (for /status).
    DeviceState gather();

    // What the gestures do; public for callers without a window.
    Q_INVOKABLE void toggle();
    void openManually();
    void close();

    // Tests shorten these; the real gesture path is unchanged.
    void setIdleTimeout(std::chrono::milliseconds t) { m_idleTimer.setInterval(t); }
    void setLongPress(std::chrono::milliseconds t) { m_gestures.setLongPress(t); }
    DiagnosticsGestures &gestures() { return m_gestures; }

signals:
    void openChanged();
    void refreshed();

private:
    bool autoCondition();
    void evaluateAuto();
    void setReason(Reason reason);
    void refresh();
    void onItemFailed(const QString &key, const QString &reason);

    cache::Store &m_store;
    Playback &m_playback;
    DiagnosticsConfig m_config;
    DiagnosticsGestures m_gestures;
    QTimer m_refreshTimer;  // runs only while open
    QTimer m_idleTimer;     // manual opening only
    Reason m_reason = Reason::Closed;
    bool m_started = false;
    bool m_dismissed = false; // auto screen closed by hand: stays closed until the condition clears
    DeviceState m_state;
    DiagnosticsText m_text;
    // Skipped items: key -> (manifest version it failed under, reason), in failure order.
    std::vector<std::pair<std::int64_t, BadItem>> m_failures;
};

} // namespace stoa::player
