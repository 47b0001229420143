// player/media_slot.h — one of the two on-screen slots, as QML sees it.
//
// The player shows one slot and loads the next item into the other, hidden;
// QML (qml/MediaSlot.qml) renders a slot and reports back through Playback
// (ready / failed / ended, each tagged with the slot's generation so a late
// report about an item the slot no longer holds is ignored).
//
// State machine, driven by Playback only:
//   Empty --load()--> Loading --markReady()--> Ready --show()--> Shown
//   any --release()--> Empty
// Invariants: `generation` grows with every load() and release(); a slot is
// `shown` only in state Shown; release() always passes through kind "none"
// so QML drops the previous media before the next load (and re-loads even
// when the same file comes again, as in a one-item playlist's loop).
#pragma once

#include "player/planned_item.h"

#include <QObject>
#include <QRectF>
#include <QTimer>
#include <QUrl>

#include <chrono>
#include <cstdint>
#include <optional>

namespace stoa::player {

// v1.1 §14: a stream whose first picture has not arrived this long after
// its load began is skipped (a shorter player load timeout wins).
inline constexpr std::chrono::milliseconds kStreamStartTimeout{5000};
// v1.1 §14: a stream must be replaced within 5 s of its last frame. No new
// frame for this long is a stall (qml/MediaSlot.qml's VideoWatch); the
// rest of the 5 s is for the switch (the next item is usually Ready).
inline constexpr int kStreamStallMs = 3000;

class MediaSlot : public QObject {
    Q_OBJECT
    Q_PROPERTY(int generation READ generation NOTIFY contentChanged)
    Q_PROPERTY(QUrl source READ source NOTIFY contentChanged)
    Q_PROPERTY(QString kind READ kind NOTIFY contentChanged)
    Q_PROPERTY(QString fit READ fit NOTIFY contentChanged)
    Q_PROPERTY(int fadeMs READ fadeMs NOTIFY contentChanged)
    // Text items (v1.1 §12): the text, whether it scrolls, its colours
    // ("#rrggbb"; background "" when none) and its duration (one scroll).
    Q_PROPERTY(QString text READ text NOTIFY contentChanged)
    Q_PROPERTY(bool textScroll READ textScroll NOTIFY contentChanged)
    Q_PROPERTY(QString textColor READ textColor NOTIFY contentChanged)
    Q_PROPERTY(QString textBackground READ textBackground NOTIFY contentChanged)
    Q_PROPERTY(int durationMs READ durationMs NOTIFY contentChanged)
    Q_PROPERTY(bool shown READ shown NOTIFY shownChanged)
    Q_PROPERTY(bool playing READ playing NOTIFY playingChanged)
    Q_PROPERTY(int z READ z NOTIFY shownChanged)
    // v1.1 §13 crop: the part of the source shown (fractions of it; the
    // whole picture when the item has none), fitted by `fit`.
    Q_PROPERTY(QRectF crop READ crop NOTIFY contentChanged)
    // v1.1 §14: no frame for this long is a stall of a stream (constant).
    Q_PROPERTY(int streamStallMs READ streamStallMs CONSTANT)
public:
    enum class State { Empty, Loading, Ready, Shown };

    MediaSlot(int index, std::chrono::milliseconds loadTimeout, QObject *parent = nullptr);

    int index() const { return m_index; }
    State state() const { return m_state; }
    const std::optional<PlannedItem> &item() const { return m_item; }

    int generation() const { return m_generation; }
    QUrl source() const;
    QString kind() const;
    QString fit() const;
    int fadeMs() const { return m_item ? m_item->fadeMs : 0; }
    QString text() const { return m_item && m_item->text ? m_item->text->text : QString(); }
    bool textScroll() const { return m_item && m_item->text && m_item->text->scroll; }
    QString textColor() const;
    QString textBackground() const;
    int durationMs() const { return m_item && m_item->durationMs ? int(*m_item->durationMs) : 0; }
    bool shown() const { return m_state == State::Shown; }
    bool playing() const { return m_playing; }
    int z() const { return m_z; }
    QRectF crop() const;
    int streamStallMs() const { return kStreamStallMs; }

    // Empty -> Loading: QML starts loading `item` hidden; the load timer
    // (the player's, at most kStreamStartTimeout for a stream) runs from now, or with `timed` false from startLoadTimer() (a page
    // loading while the web engine is still starting).
    void load(PlannedItem item, bool timed = true);
    // Loading and not timed yet: the load timer runs from now.
    void startLoadTimer();
    // Loading -> Ready (QML reported the first frame / decoded image).
    void markReady();
    // Ready -> Shown, on top of the other slot (z above `belowZ`), playing.
    void show(int z);
    // Back to Empty; QML drops the media.
    void release();
    // A video shown: play on from `ms` into it (v1.1 §13, a slot joined
    // mid-way or come late). QML seeks its pipeline.
    void seekTo(std::int64_t ms) { emit seekRequested(qint64(ms)); }

signals:
    void contentChanged();
    void shownChanged();
    void playingChanged();
    // The item did not become ready within the load timeout (generation of that load).
    void loadTimedOut(int generation);
    void seekRequested(qint64 ms);

private:
    int m_index;
    State m_state = State::Empty;
    std::optional<PlannedItem> m_item;
    int m_generation = 0;
    bool m_playing = false;
    int m_z = 0;
    std::chrono::milliseconds m_loadTimeout;
    QTimer m_timeout;
};

} // namespace stoa::player
