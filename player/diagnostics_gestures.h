// player/diagnostics_gestures.h — the inputs that open and close the diagnostics screen.
//
// Job: an event filter on the player's window that recognises F1 and `d`
// (an attached keyboard) and a long press (mouse or touch) held still in a
// corner, and reports any input at all (for the screen's idle timeout).
// It never consumes anything but those two keys: playback has no other input.
//
// Invariants:
//  - a long press counts only if the press starts inside a corner square of
//    side `cornerFraction` × the window's shorter side, stays inside it and
//    lasts `longPress` (monotonic, a single-shot timer); it fires once per
//    press, while still held, so the installer sees the screen change;
//  - the corners of the window are the corners of the rotated stage too
//    (rotation is by multiples of 90°), so no rotation mapping is needed;
//  - touch and mouse are handled separately; mouse events synthesised from
//    touch are ignored so one finger is not counted twice.
#pragma once

#include <QObject>
#include <QPointF>
#include <QTimer>

#include <chrono>

class QWindow;

namespace stoa::player {

class DiagnosticsGestures : public QObject {
    Q_OBJECT
public:
    explicit DiagnosticsGestures(QObject *parent = nullptr);

    void attach(QWindow *window);
    void setLongPress(std::chrono::milliseconds duration) { m_pressTimer.setInterval(duration); }
    std::chrono::milliseconds longPress() const { return m_pressTimer.intervalAsDuration(); }
    void setCornerFraction(double f) { m_cornerFraction = f; }
    // Whether `pos` (window coordinates) lies in one of the four corner squares.
    bool inCorner(QPointF pos) const;

signals:
    void toggleRequested(); // F1, `d`, or a corner long press completed
    void inputSeen();       // any key, press, move or touch on the window

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void pressAt(QPointF pos);
    void moveTo(QPointF pos);
    void release();

    QWindow *m_window = nullptr;
    QTimer m_pressTimer;
    double m_cornerFraction = 0.15;
    bool m_pressing = false;
};

} // namespace stoa::player
