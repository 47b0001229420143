// player/web_warm_up.cpp — see web_warm_up.h.
#include "player/web_warm_up.h"

#include "player/logging.h"
#include "schedule/manifest_parse.h"

namespace stoa::player {

bool hasWebItems(const schedule::Manifest &m)
{
    for (const auto &[name, playlist] : m.playlists)
        for (const auto &item : playlist.items)
            if (item.url)
                return true;
    return false;
}

WebWarmUp::WebWarmUp(bool enabled, std::chrono::milliseconds timeout, QObject *parent)
    : QObject(parent), m_enabled(enabled), m_timeout(timeout), m_warm(!enabled)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        qCWarning(lcPlayer, "web: the warm-up page did not paint within %lld ms; page load timers start now",
                  static_cast<long long>(m_timeout.count()));
        setWarm("warm-up timed out");
    });
}

void WebWarmUp::update(const schedule::Manifest *active, cache::Store &store)
{
    bool wanted = false;
    if (m_enabled) {
        wanted = active && hasWebItems(*active);
        // The agent commits often while it downloads: parse a staged
        // manifest once per version.
        auto staged = store.manifests().get(cache::Slot::Staged);
        const bool hasStaged = staged && *staged;
        if (!wanted && hasStaged && (*staged)->version != m_stagedChecked) {
            m_stagedChecked = (*staged)->version;
            const std::string &envelope = (*staged)->envelope;
            auto parsed = schedule::readStoredManifest(QByteArrayView(envelope.data(), qsizetype(envelope.size())));
            if (!parsed)
                qCDebug(lcPlayer, "web warm-up: the staged %s", qPrintable(parsed.error().reason));
            m_stagedHasWeb = parsed && hasWebItems(parsed->manifest);
        }
        wanted = wanted || (hasStaged && m_stagedHasWeb);
    }
    if (wanted == m_wanted)
        return;
    const bool pageBefore = pageWanted();
    m_wanted = wanted;
    if (!m_warm && wanted) {
        qCInfo(lcPlayer, "web: warming up the web engine (web items in the active or staged manifest)");
        m_since.start();
        m_timer.start(m_timeout);
    } else if (!wanted) {
        // The page goes: no deadline to miss, and what it kept warm may stop.
        m_timer.stop();
        m_warm = false;
    }
    emit wantedChanged();
    if (pageWanted() != pageBefore)
        emit pageWantedChanged();
}

void WebWarmUp::done(bool ok, const QString &detail)
{
    if (!ok)
        qCWarning(lcPlayer, "web: the warm-up page failed: %s", qPrintable(detail));
    setWarm(ok ? "warm-up page painted" : "warm-up failed");
}

void WebWarmUp::setWarm(const char *how)
{
    if (m_warm)
        return;
    const bool pageBefore = pageWanted();
    m_warm = true;
    m_timer.stop();
    qCInfo(lcPlayer, "web: engine warm %lld ms after the warm-up began (%s)",
           static_cast<long long>(m_since.elapsed()), how);
    emit warmed();
    if (pageWanted() != pageBefore)
        emit pageWantedChanged();
}

} // namespace stoa::player
