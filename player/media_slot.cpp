// player/media_slot.cpp — slot state for QML (see media_slot.h).
#include "player/media_slot.h"

#include <algorithm>

namespace stoa::player {

QString kindName(ItemKind kind)
{
    switch (kind) {
    case ItemKind::Image: return QStringLiteral("image");
    case ItemKind::Video: return QStringLiteral("video");
    case ItemKind::Web: return QStringLiteral("web");
    case ItemKind::Text: return QStringLiteral("text");
    case ItemKind::Stream: return QStringLiteral("stream");
    }
    return QStringLiteral("none");
}

QString fitName(schedule::Fit fit)
{
    switch (fit) {
    case schedule::Fit::Cover: return QStringLiteral("cover");
    case schedule::Fit::Stretch: return QStringLiteral("stretch");
    case schedule::Fit::Contain: break;
    }
    return QStringLiteral("contain");
}

MediaSlot::MediaSlot(int index, std::chrono::milliseconds loadTimeout, QObject *parent)
    : QObject(parent), m_index(index), m_loadTimeout(loadTimeout)
{
    m_timeout.setSingleShot(true);
    m_timeout.setInterval(loadTimeout);
    connect(&m_timeout, &QTimer::timeout, this, [this] { emit loadTimedOut(m_generation); });
}

QUrl MediaSlot::source() const
{
    return m_item ? m_item->source : QUrl();
}

QString MediaSlot::kind() const
{
    return m_item ? kindName(m_item->kind) : QStringLiteral("none");
}

QString MediaSlot::fit() const
{
    return m_item ? fitName(m_item->fit) : QStringLiteral("contain");
}

QRectF MediaSlot::crop() const
{
    if (!m_item || !m_item->crop)
        return {0, 0, 1, 1};
    const auto &c = *m_item->crop;
    return {c.x, c.y, c.w, c.h};
}

namespace {
QString rgbName(const schedule::Rgb &c)
{
    return QStringLiteral("#%1%2%3")
        .arg(c.r, 2, 16, QLatin1Char('0'))
        .arg(c.g, 2, 16, QLatin1Char('0'))
        .arg(c.b, 2, 16, QLatin1Char('0'));
}
} // namespace

QString MediaSlot::textColor() const
{
    return m_item && m_item->text ? rgbName(m_item->text->color) : QStringLiteral("#ffffff");
}

QString MediaSlot::textBackground() const
{
    return m_item && m_item->text && m_item->text->background ? rgbName(*m_item->text->background) : QString();
}

void MediaSlot::load(PlannedItem item, bool timed)
{
    if (m_state != State::Empty)
        release();
    m_item = std::move(item);
    m_state = State::Loading;
    ++m_generation;
    // v1.1 §14: a stream with no picture within 5 s is skipped, whatever
    // the player's load timeout for other items.
    m_timeout.setInterval(m_item->kind == ItemKind::Stream ? std::min(m_loadTimeout, kStreamStartTimeout)
                                                           : m_loadTimeout);
    if (timed)
        m_timeout.start();
    emit contentChanged();
}

void MediaSlot::startLoadTimer()
{
    if (m_state == State::Loading && !m_timeout.isActive())
        m_timeout.start();
}

void MediaSlot::markReady()
{
    if (m_state != State::Loading)
        return;
    m_timeout.stop();
    m_state = State::Ready;
}

void MediaSlot::show(int z)
{
    m_timeout.stop();
    m_state = State::Shown;
    m_z = z;
    const bool wasPlaying = m_playing;
    m_playing = true;
    emit shownChanged();
    if (!wasPlaying)
        emit playingChanged();
}

void MediaSlot::release()
{
    m_timeout.stop();
    const bool wasShown = m_state == State::Shown;
    const bool wasPlaying = m_playing;
    m_state = State::Empty;
    m_playing = false;
    m_item.reset();
    ++m_generation;
    if (wasPlaying)
        emit playingChanged();
    if (wasShown)
        emit shownChanged();
    emit contentChanged();
}

} // namespace stoa::player
