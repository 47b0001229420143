// player/frame_log.cpp — frame/switch log (see frame_log.h).
#include "player/frame_log.h"

#include "player/logging.h"
#include "player/region_player.h"

#include <QSaveFile>

#include <algorithm>
#include <chrono>

namespace stoa::player {

FrameLog::FrameLog(QString path, std::size_t capacity, QObject *parent) : QObject(parent), m_path(std::move(path))
{
    m_events.reserve(capacity);
}

FrameLog::~FrameLog()
{
    if (m_window)
        disconnect(m_window, nullptr, this, nullptr);
    const std::lock_guard lock(m_mutex);
}

std::int64_t FrameLog::nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void FrameLog::attach(QQuickWindow *window, Playback &playback)
{
    m_playback = &playback;
    m_window = window;
    // Direct: emitted on the render thread, which must not wait for the GUI
    // thread (it may be blocked in sync); record() only takes a short lock.
    connect(window, &QQuickWindow::beforeSynchronizing, this, [this] { record(Kind::Sync); }, Qt::DirectConnection);
    connect(window, &QQuickWindow::frameSwapped, this, [this] { record(Kind::Frame); }, Qt::DirectConnection);
    connect(&playback, &Playback::switched, this, &FrameLog::onSwitched);
}

void FrameLog::record(Kind kind, int switchIndex)
{
    // The stamp is taken under the lock, so the vector is in time order
    // whichever thread appends.
    const std::lock_guard lock(m_mutex);
    m_events.push_back(Event{nowUs(), kind, switchIndex});
}

void FrameLog::onSwitched()
{
    // A layout: the regions whose shown slot changed (normally the one that
    // switched; one that emptied shows no slot).
    bool named = false;
    if (m_playback) {
        for (RegionPlayer *region : m_playback->layoutRegions()) {
            const int shown = region->slotA()->shown() ? 0 : region->slotB()->shown() ? 1 : -1;
            const RegionSeen now{shown, shown == 0 ? region->slotA()->generation()
                                        : shown == 1 ? region->slotB()->generation() : -1};
            RegionSeen &seen = m_regionsSeen[region->regionId()];
            if (seen.shownSlot == now.shownSlot && seen.generation == now.generation)
                continue;
            seen = now;
            const PlannedItem *item = shown >= 0 ? region->current() : nullptr;
            addSwitch((item ? kindName(item->kind).toStdString() + " " + item->key : std::string("idle -")) + " " +
                      region->regionId().toStdString());
            named = true;
        }
    }
    if (named)
        return;
    const PlannedItem *item = m_playback ? m_playback->current() : nullptr;
    addSwitch(item ? kindName(item->kind).toStdString() + " " + item->key : std::string("idle -"));
}

void FrameLog::addSwitch(std::string what)
{
    int index = 0;
    {
        const std::lock_guard lock(m_mutex);
        index = int(m_switches.size());
        m_switches.push_back(std::move(what));
        m_events.push_back(Event{nowUs(), Kind::Switch, index});
    }
}

std::size_t FrameLog::frames() const
{
    const std::lock_guard lock(m_mutex);
    return std::size_t(std::count_if(m_events.begin(), m_events.end(), [](const Event &e) { return e.kind == Kind::Frame; }));
}

std::size_t FrameLog::switches() const
{
    const std::lock_guard lock(m_mutex);
    return m_switches.size();
}

std::expected<void, std::string> FrameLog::write()
{
    std::vector<Event> events;
    std::vector<std::string> switches;
    {
        const std::lock_guard lock(m_mutex);
        events = m_events;
        switches = m_switches;
    }
    std::stable_sort(events.begin(), events.end(), [](const Event &a, const Event &b) { return a.us < b.us; });
    QByteArray text = "# stoa-player frame log v1: <monotonic us> sync|frame|switch <kind> <key>\n";
    text.reserve(text.size() + qsizetype(events.size()) * 20);
    for (const Event &e : events) {
        text += QByteArray::number(qint64(e.us));
        switch (e.kind) {
        case Kind::Sync: text += " sync\n"; break;
        case Kind::Frame: text += " frame\n"; break;
        case Kind::Switch:
            text += " switch ";
            text += switches.at(std::size_t(e.switchIndex)).c_str();
            text += '\n';
            break;
        }
    }
    QSaveFile file(m_path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size() || !file.commit())
        return std::unexpected(m_path.toStdString() + ": " + file.errorString().toStdString());
    qCInfo(lcPlayer, "frame log: %zu events (%zu switches) written to %s", events.size(), switches.size(),
           qPrintable(m_path));
    return {};
}

} // namespace stoa::player
