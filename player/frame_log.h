// player/frame_log.h — a log of every frame swap and every switch, for the
// frames-lost-at-transitions benchmark (bench/frames_bench.cpp) and anyone
// looking at a glitch (`stoa-player --frame-log FILE`).
//
// Three kinds of events, each stamped with CLOCK_MONOTONIC microseconds
// (std::chrono::steady_clock):
//   sync    QQuickWindow::beforeSynchronizing — the scene is copied to the
//           render side; the frame rendered after it is the first that can
//           show a change the GUI thread made before it;
//   frame   QQuickWindow::frameSwapped — a frame was presented;
//   switch  Playback::switched — a new item is on screen in the scene (kind
//           and content key of playback.current(), or "idle"). Under a
//           layout every region's switch emits it: the line then names the
//           region that switched (its item's kind and key, then the region's
//           id), one line per region whose shown slot changed since the last
//           switch (bench/layout_bench.cpp counts losses per region). The
//           region is the line's last field: a text item's key has spaces.
// sync and frame come on the render thread (threaded render loop) or the GUI
// thread (basic loop): they are appended to a mutex-guarded, pre-reserved
// vector and nothing else happens there — no I/O, no allocation until the
// reserve is used up. The file is written by write() on the GUI thread,
// normally at exit (main.cpp calls it on aboutToQuit).
//
// File format, one event per line, in time order:
//   # stoa-player frame log v1: <monotonic us> sync|frame|switch <kind> <key> [<region>]
//   1234567 sync
//   1234890 frame
//   1235001 switch video sha256:ab12...
//   1236001 switch text sha256:cd34... ticker      (a layout's region)
// Invariants: timestamps are non-decreasing in the file (events are sorted
// on write; each thread's stamps are taken under the lock, in order).
#pragma once

#include "player/playback.h"

#include <QObject>
#include <QPointer>
#include <QQuickWindow>
#include <QString>

#include <cstdint>
#include <expected>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stoa::player {

class FrameLog : public QObject {
    Q_OBJECT
public:
    enum class Kind : std::uint8_t { Sync, Frame, Switch };
    struct Event {
        std::int64_t us = 0; // steady_clock microseconds (CLOCK_MONOTONIC)
        Kind kind = Kind::Frame;
        int switchIndex = -1; // Switch: index into m_switches
    };

    // `path`: where write() puts the log. `capacity`: events reserved up
    // front (a frame is ~2 events; 1 << 20 holds about 4.8 h at 60 fps);
    // past it events are still kept (the vector grows), only no longer
    // without allocating on the render thread.
    explicit FrameLog(QString path, std::size_t capacity = std::size_t(1) << 20, QObject *parent = nullptr);
    // Disconnects from the window before the buffer goes (the render thread
    // may be inside record() at that moment: the lock waits for it).
    ~FrameLog() override;

    // Connects to the window's sync/swap signals (direct: they come on the
    // render thread) and to the playback's switched().
    void attach(QQuickWindow *window, Playback &playback);

    // Writes every event so far, sorted by time, to the path (via a temporary
    // file and rename). GUI thread. Error: the file's message.
    std::expected<void, std::string> write();

    static std::int64_t nowUs();

    // Counts so far (tests, logs).
    std::size_t frames() const;
    std::size_t switches() const;

private:
    void record(Kind kind, int switchIndex = -1);
    void onSwitched();
    void addSwitch(std::string what);

    // Per layout region (by id): the slot shown and its generation at the
    // last switch, to tell which region a switch was. GUI thread only.
    struct RegionSeen {
        int shownSlot = -1;
        int generation = -1;
    };

    QString m_path;
    QPointer<Playback> m_playback;
    QPointer<QQuickWindow> m_window;
    mutable std::mutex m_mutex;               // guards m_events (render + GUI threads)
    std::vector<Event> m_events;
    std::vector<std::string> m_switches;      // "<kind> <key>[ <region>]", GUI thread only
    std::map<QString, RegionSeen> m_regionsSeen;
};

} // namespace stoa::player
