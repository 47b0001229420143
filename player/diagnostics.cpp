// player/diagnostics.cpp — the diagnostics screen's model (see diagnostics.h).
#include "player/diagnostics.h"

#include "cache/sync_status.h"
#include "player/logging.h"
#include "player/playback.h"

#include <QUrl>
#include <QVariantMap>
#include <QWindow>

namespace stoa::player {

namespace {

QVariantList toVariant(const std::vector<DiagSection> &sections)
{
    QVariantList out;
    for (const auto &sec : sections) {
        QVariantList rows;
        for (const auto &r : sec.rows)
            rows << QVariantMap{{"key", r.key}, {"label", r.label}, {"value", r.value}, {"level", r.level}};
        out << QVariantMap{{"title", sec.title}, {"rows", rows}};
    }
    return out;
}

} // namespace

Diagnostics::Diagnostics(cache::Store &store, Playback &playback, DiagnosticsConfig config, QObject *parent)
    : QObject(parent), m_store(store), m_playback(playback), m_config(std::move(config))
{
    m_gestures.setLongPress(m_config.longPress);
    m_gestures.setCornerFraction(m_config.cornerFraction);
    m_refreshTimer.setInterval(m_config.refreshInterval);
    m_idleTimer.setSingleShot(true);
    m_idleTimer.setInterval(m_config.idleTimeout);
    connect(&m_refreshTimer, &QTimer::timeout, this, &Diagnostics::refresh);
    connect(&m_idleTimer, &QTimer::timeout, this, [this] {
        if (m_reason == Reason::Manual) {
            qCInfo(lcPlayer, "diagnostics screen closed after %lld ms without input",
                   static_cast<long long>(m_idleTimer.interval()));
            close();
        }
    });
    connect(&m_gestures, &DiagnosticsGestures::toggleRequested, this, &Diagnostics::toggle);
    connect(&m_gestures, &DiagnosticsGestures::inputSeen, this, [this] {
        if (m_reason == Reason::Manual)
            m_idleTimer.start();
    });
    connect(&m_playback, &Playback::itemFailed, this, &Diagnostics::onItemFailed);
    // The auto rule's inputs change only with these (no polling while closed).
    connect(&m_playback, &Playback::switched, this, &Diagnostics::evaluateAuto);
    connect(&m_playback, &Playback::storeChanged, this, &Diagnostics::evaluateAuto);
}

void Diagnostics::attach(QWindow *window)
{
    m_gestures.attach(window);
}

void Diagnostics::start()
{
    m_started = true;
    if (m_config.openAtStart)
        setReason(Reason::Flag);
    evaluateAuto();
}

QString Diagnostics::openReason() const
{
    switch (m_reason) {
    case Reason::Closed: return QStringLiteral("closed");
    case Reason::Manual: return QStringLiteral("manual");
    case Reason::Flag: return QStringLiteral("flag");
    case Reason::Auto: return QStringLiteral("auto");
    }
    return {};
}

QString Diagnostics::deviceId() const
{
    return m_playback.deviceId();
}

QString qrText(const std::string &consoleUrl, const QString &deviceId)
{
    if (consoleUrl.empty())
        return deviceId;
    QUrl url(QString::fromStdString(consoleUrl));
    // The console's files are under a directory (/console/): a link to it
    // without the slash would resolve its modules one level up. A page's
    // own name (…/index.html) stays as given.
    QString path = url.path();
    if (!path.endsWith('/') && !path.section('/', -1).contains('.'))
        url.setPath(path + '/');
    url.setFragment(QStringLiteral("/device/") + deviceId); // ids are [A-Za-z0-9._-]: nothing to escape
    return url.toString(QUrl::FullyEncoded);
}

QString Diagnostics::qrSource() const
{
    return QStringLiteral("image://stoa-qr/")
           + QString::fromUtf8(QUrl::toPercentEncoding(qrText(m_config.consoleUrl, m_playback.deviceId())));
}

QVariantList Diagnostics::leftSections() const
{
    return toVariant(m_text.left);
}

QVariantList Diagnostics::rightSections() const
{
    return toVariant(m_text.right);
}

QString Diagnostics::footer() const
{
    const QString how = QStringLiteral("Close: F1 or D, or hold a corner for %1 s")
                            .arg(double(m_gestures.longPress().count()) / 1000.0);
    switch (m_reason) {
    case Reason::Manual:
        return how + QStringLiteral(" · closes by itself after %1 s without input")
                         .arg(double(m_idleTimer.interval()) / 1000.0);
    case Reason::Auto:
        return how + QStringLiteral(" · shown until the device has content and a server");
    case Reason::Flag:
    case Reason::Closed:
        break;
    }
    return how;
}

DeviceState Diagnostics::gather()
{
    GatherInputs in;
    in.deviceId = m_playback.deviceId().toStdString();
    in.configuredServer = m_config.configuredServer;
    in.quotaBytes = m_config.quotaBytes;
    in.now = m_playback.clock().now();
    in.systemUtcMs = QDateTime::currentMSecsSinceEpoch();
    in.processUptimeMs = msSinceProcessStart();
    in.health = m_config.health;
    in.startupProblems = m_config.startupProblems;
    in.display = m_config.display;

    in.player = m_playback.view();
    PlayerView &p = in.player;
    for (const auto &[version, bad] : m_failures)
        if (p.playingVersion && version == *p.playingVersion)
            p.badItems.push_back(bad);
    return gatherDeviceState(m_store, in);
}

void Diagnostics::refresh()
{
    m_state = gather();
    m_text = describeDeviceState(m_state);
    emit refreshed();
}

void Diagnostics::toggle()
{
    if (isOpen()) {
        if (m_reason == Reason::Auto)
            m_dismissed = true;
        close();
    } else {
        openManually();
    }
}

void Diagnostics::openManually()
{
    setReason(Reason::Manual);
}

void Diagnostics::close()
{
    setReason(Reason::Closed);
}

void Diagnostics::setReason(Reason reason)
{
    if (reason == m_reason)
        return;
    m_reason = reason;
    m_idleTimer.stop();
    if (reason == Reason::Closed) {
        m_refreshTimer.stop();
    } else {
        refresh(); // before it becomes visible: no frame with stale or empty text
        m_refreshTimer.start();
        if (reason == Reason::Manual)
            m_idleTimer.start();
    }
    qCInfo(lcPlayer, "diagnostics screen: %s", qPrintable(openReason()));
    emit openChanged();
}

bool Diagnostics::autoCondition()
{
    if (!m_config.startupProblems.empty() || !m_playback.manifestVersion())
        return true;
    if (!m_config.configuredServer.empty())
        return false;
    const auto status = cache::readSyncStatus(m_store.kv());
    return !status || status->server.empty();
}

void Diagnostics::evaluateAuto()
{
    if (!m_started || !m_config.autoOpen)
        return;
    const bool condition = autoCondition();
    if (!condition) {
        m_dismissed = false;
        if (m_reason == Reason::Auto)
            close();
        return;
    }
    if (m_reason == Reason::Closed && !m_dismissed)
        setReason(Reason::Auto);
}

void Diagnostics::onItemFailed(const QString &key, const QString &reason)
{
    const std::int64_t version = m_playback.manifestVersion().value_or(0);
    const std::string k = key.toStdString();
    std::erase_if(m_failures, [&](const auto &f) { return f.second.key == k || f.first != version; });
    m_failures.push_back({version, BadItem{k, reason.toStdString()}});
    constexpr std::size_t kKeep = 50; // a manifest of broken items must not grow this without bound
    if (m_failures.size() > kKeep)
        m_failures.erase(m_failures.begin());
}

} // namespace stoa::player
