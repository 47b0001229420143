// player/shell.h — the one window: QML scene, Playback and commands wired together.
//
// Loads qrc:/stoa/player/qml/Main.qml with the Playback as its required
// property, shows it full screen (or windowed), runs handed-over commands
// and logs the first content frame (time since process start, for the
// start-up benchmark). The window is the only native window (eglfs allows
// one); everything else is QML inside it, the diagnostics overlay included
// (its model and gestures are created here, see diagnostics.h).
#pragma once

#include "player/command_runner.h"
#include "player/diagnostics.h"
#include "player/playback.h"

#include <QElapsedTimer>
#include <QObject>
#include <QQmlApplicationEngine>
#include <QQuickWindow>

#include <memory>

namespace stoa::player {

class Shell : public QObject {
    Q_OBJECT
public:
    // `playback` must outlive the Shell.
    Shell(cache::Store &store, Playback &playback, DiagnosticsConfig diagnostics = {}, QObject *parent = nullptr);

    // Loads the scene; false (and logged) when QML failed to load.
    bool load();
    void show(bool windowed);
    QQuickWindow *window() const { return m_window; }
    QImage grab();
    CommandRunner &commands() { return *m_commands; }
    Diagnostics &diagnostics() { return *m_diagnostics; }

signals:
    // The first frame with content (not the idle screen) was presented.
    void firstContentFrame();

private:
    cache::Store &m_store;
    Playback &m_playback;
    std::unique_ptr<Diagnostics> m_diagnostics; // before the engine: QML refers to it
    QQmlApplicationEngine m_engine;
    QQuickWindow *m_window = nullptr;
    std::unique_ptr<CommandRunner> m_commands;
    bool m_firstFrameSeen = false;
};

} // namespace stoa::player
