// player/diagnostics_gestures.cpp — keys and corner long press (see diagnostics_gestures.h).
#include "player/diagnostics_gestures.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPointingDevice>
#include <QTouchEvent>
#include <QWindow>

#include <algorithm>

namespace stoa::player {

DiagnosticsGestures::DiagnosticsGestures(QObject *parent) : QObject(parent)
{
    m_pressTimer.setSingleShot(true);
    m_pressTimer.setTimerType(Qt::PreciseTimer); // a coarse timer may fire 5 % (150 ms) early
    m_pressTimer.setInterval(std::chrono::milliseconds(3000));
    connect(&m_pressTimer, &QTimer::timeout, this, [this] {
        m_pressing = false; // once per press
        emit toggleRequested();
    });
}

void DiagnosticsGestures::attach(QWindow *window)
{
    if (m_window)
        m_window->removeEventFilter(this);
    m_window = window;
    if (m_window)
        m_window->installEventFilter(this);
}

bool DiagnosticsGestures::inCorner(QPointF pos) const
{
    if (!m_window)
        return false;
    const double w = m_window->width(), h = m_window->height();
    const double side = m_cornerFraction * std::min(w, h);
    const bool left = pos.x() < side, right = pos.x() >= w - side;
    const bool top = pos.y() < side, bottom = pos.y() >= h - side;
    return (left || right) && (top || bottom);
}

void DiagnosticsGestures::pressAt(QPointF pos)
{
    m_pressing = inCorner(pos);
    if (m_pressing)
        m_pressTimer.start();
    else
        m_pressTimer.stop();
}

void DiagnosticsGestures::moveTo(QPointF pos)
{
    if (m_pressing && !inCorner(pos))
        release();
}

void DiagnosticsGestures::release()
{
    m_pressing = false;
    m_pressTimer.stop();
}

bool DiagnosticsGestures::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != m_window)
        return false;
    switch (event->type()) {
    case QEvent::KeyPress: {
        emit inputSeen();
        const auto *key = static_cast<QKeyEvent *>(event);
        if ((key->key() == Qt::Key_F1 || key->key() == Qt::Key_D) && !key->isAutoRepeat() &&
            !(key->modifiers() & (Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier))) {
            emit toggleRequested();
            return true;
        }
        return false;
    }
    case QEvent::MouseButtonPress:
    case QEvent::MouseMove:
    case QEvent::MouseButtonRelease: {
        const auto *mouse = static_cast<QMouseEvent *>(event);
        const QPointingDevice *device = mouse->pointingDevice();
        if (device && device->type() == QInputDevice::DeviceType::TouchScreen)
            return false; // synthesised from touch: the touch events count
        emit inputSeen();
        if (event->type() == QEvent::MouseButtonPress)
            pressAt(mouse->position());
        else if (event->type() == QEvent::MouseMove)
            moveTo(mouse->position());
        else
            release();
        return false;
    }
    case QEvent::TouchBegin:
    case QEvent::TouchUpdate:
    case QEvent::TouchEnd:
    case QEvent::TouchCancel: {
        auto *touch = static_cast<QTouchEvent *>(event);
        emit inputSeen();
        if (event->type() == QEvent::TouchEnd || event->type() == QEvent::TouchCancel || touch->pointCount() != 1)
            release();
        else if (event->type() == QEvent::TouchBegin)
            pressAt(touch->point(0).position());
        else
            moveTo(touch->point(0).position());
        return false;
    }
    case QEvent::Wheel:
        emit inputSeen();
        return false;
    default:
        return false;
    }
}

} // namespace stoa::player
