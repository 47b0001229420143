// sync/status_channel.cpp — see status_channel.h.
#include "sync/status_channel.h"

#include <QJsonDocument>

namespace stoa::sync {

void StatusChannel::observe(SteadyTime now)
{
    if (m_obs.liveness)
        m_obs.liveness->tick();
    if (m_obs.health && (!m_healthAt || now - *m_healthAt >= m_obs.healthEvery)) {
        m_health = m_obs.health();
        m_healthAt = now;
    }
    if (m_obs.metrics) {
        m_obs.metrics->status(m_status);
        m_obs.metrics->sample(m_store, m_health, now);
    }
}

void StatusChannel::publish()
{
    if (!m_manifests.staged) // activated, replaced or dropped: nothing is held back any more
        m_status.stagedBlocked.reset();
    if (m_status.state == "starting" || (m_status.state == "downloading" && !m_manifests.staged))
        m_status.state = m_manifests.active ? "in_sync" : "no_manifest";
    if (m_status.consecutiveFailures > 0)
        m_status.state = "backing_off";
    else if (m_status.state == "backing_off")
        m_status.state = m_manifests.staged ? "downloading" : (m_manifests.active ? "in_sync" : "no_manifest");
    if (m_status == m_published)
        return;
    const QByteArray json = QJsonDocument(m_status.toJson()).toJson(QJsonDocument::Compact);
    if (auto ok = m_store.kv().set(cache::kSyncStatusKey, json.toStdString()); ok)
        m_published = m_status;
}

} // namespace stoa::sync
