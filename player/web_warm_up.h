// player/web_warm_up.h — starts Chromium before the first page is due, so
// a page's 5 s load timeout (spec §3) is the page's and not our start-up's
// (docs/web.md, "Warm-up"; issue 13).
//
// Job: decide whether the warm-up page is wanted (web items in the active or
// the staged manifest, web on and built in, warm-up enabled), and tell when
// the engine is warm: the hidden page qml/WebWarmUp.qml painted (done(true)),
// failed (done(false)), or the timeout passed. Owned by Playback, which
// holds a page's load timer back until warm(); Main.qml keeps the hidden
// page only until then (pageWanted()): what stays warm is the browser side
// in this process and its zygote. Keeping the page for good kept one
// renderer process alive for the player's life, and the web soak's memory
// grew (+5.7 MB over 100 pages, one run in three).
// Invariants: warm() holds only while wanted(): when no manifest has pages
// any more, Chromium's helpers may exit, and warm() is false again until the
// next warm-up paints. Disabled, warm() is true from the start and wanted() is
// always false, so `web = off` never starts Chromium.
#pragma once

#include "cache/store.h"
#include "schedule/manifest.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <chrono>
#include <cstdint>

namespace stoa::player {

class WebWarmUp : public QObject {
    Q_OBJECT
    // QML keeps the hidden warm-up page while this is true.
    Q_PROPERTY(bool pageWanted READ pageWanted NOTIFY pageWantedChanged)
public:
    // `enabled` false: no warm-up at all (web off, not built in, or the
    // baseline of bench/web_start_bench.sh).
    WebWarmUp(bool enabled, std::chrono::milliseconds timeout, QObject *parent = nullptr);

    // Re-decides from the active manifest (nullptr: none) and the store's
    // staged one; the staged one is parsed once per version.
    void update(const schedule::Manifest *active, cache::Store &store);

    // Pages are in the active or staged manifest.
    bool wanted() const { return m_wanted; }
    // The warm-up page is needed: wanted and not warm yet.
    bool pageWanted() const { return m_wanted && !m_warm; }
    bool warm() const { return m_warm; }
    // The warm-up began at some point (Chromium was asked to start).
    bool started() const { return m_since.isValid(); }

    // From qml/WebWarmUp.qml: the blank page painted (ok) or could not load.
    Q_INVOKABLE void done(bool ok, const QString &detail);

signals:
    void wantedChanged();
    void pageWantedChanged();
    // Each time warm() becomes true.
    void warmed();

private:
    void setWarm(const char *how);

    const bool m_enabled;
    const std::chrono::milliseconds m_timeout;
    QTimer m_timer;                      // the warm-up's deadline
    bool m_wanted = false;
    bool m_warm = false;
    QElapsedTimer m_since;               // since the warm-up began (for the log)
    std::int64_t m_stagedChecked = -1;   // staged version last looked at
    bool m_stagedHasWeb = false;         // ... and whether it has pages
};

// Whether any playlist of `m` has a `url` item.
bool hasWebItems(const schedule::Manifest &m);

} // namespace stoa::player
