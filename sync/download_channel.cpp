// sync/download_channel.cpp — see download_channel.h.
#include "sync/download_channel.h"

#include "sync/logging.h"
#include "schedule/payload_fields.h"

#include <QDateTime>

namespace stoa::sync {

namespace {

// Blobs per download round: bounds how long one step can keep the loop
// from its other channels (heartbeat, stop requests).
constexpr int kBlobsPerRoundFactor = 4;

} // namespace

DownloadChannel::DownloadChannel(const AgentConfig &config, cache::Store &store, HttpClient &http, Backoff::Rng &rng,
                                 schedule::TrustedClock &clock, const ManifestSlots &manifests,
                                 cache::SyncStatus &status, AgentMetrics *const &metrics)
    : m_config(config), m_store(store), m_clock(clock), m_manifests(manifests), m_status(status), m_metrics(metrics),
      m_downloads(http, store, config.backoff, rng)
{
}

// Local time by the trusted clock (spec §7), like the schedule: a device
// whose system clock is behind must not download in the wrong hours.
bool DownloadChannel::windowOpen() const
{
    if (!m_config.downloadWindow)
        return true;
    const QTime t = m_clock.now().utc.toLocalTime().time();
    const int m = t.hour() * 60 + t.minute();
    const auto [from, until] = *m_config.downloadWindow;
    return from <= until ? (m >= from && m < until) : (m >= from || m < until);
}

void DownloadChannel::step(SteadyTime now)
{
    const bool windowClosed = downloadRound(now);
    refreshStagedBlocked(windowClosed);
}

SteadyTime DownloadChannel::nextDue(SteadyTime now, SteadyTime next) const
{
    if (!m_manifests.staged && m_manifests.active)
        next = std::min(next, m_repairDue);
    if (m_manifests.staged || m_repairing) {
        if (auto due = m_downloads.nextDue())
            next = std::min(next, *due);
        if (m_status.stagedBlobsMissing > 0 && !m_downloads.nextDue()) {
            // Blobs still to fetch that are not backing off: go on — unless
            // the download window is closed, then look again in a minute
            // (going on at once would spin until the window opens).
            next = windowOpen() ? now : std::min(next, now + std::chrono::minutes(1));
        }
    }
    return next;
}

bool DownloadChannel::downloadRound(SteadyTime now)
{
    m_status.stagedBlobsMissing = 0;
    m_status.stagedBytesMissing = 0;
    // With nothing staged, the active manifest's blobs are checked now and
    // then: one the scrubber removed (rotten bytes) or that vanished is
    // fetched again, so the player gets it back without a new manifest.
    const schedule::Manifest *target = m_manifests.staged ? &*m_manifests.staged : nullptr;
    if (!target && m_manifests.active && now >= m_repairDue) {
        target = &*m_manifests.active;
        m_repairDue = now + m_config.repairInterval;
    } else if (!target && m_repairing) {
        target = &*m_manifests.active;
    }
    if (!target)
        return false;
    std::vector<BlobWant> missing;
    for (const auto &[ref, asset] : target->assets) {
        auto present = m_store.blobs().contains(ref);
        if (present && *present)
            continue;
        missing.push_back({ref, asset.size});
        m_status.stagedBytesMissing += asset.size;
    }
    m_status.stagedBlobsMissing = int(missing.size());
    m_downloads.retain(missing);
    m_repairing = !m_manifests.staged && !missing.empty();
    if (m_repairing)
        qCInfo(lcSync, "%zu blob(s) of the active manifest are missing: fetching them again", missing.size());
    if (missing.empty())
        return false;
    m_status.state = "downloading";
    if (!windowOpen())
        return true;
    if (missing.size() > std::size_t(m_config.parallelDownloads * kBlobsPerRoundFactor))
        missing.erase(missing.begin() + std::ptrdiff_t(m_config.parallelDownloads * kBlobsPerRoundFactor), missing.end());
    const DownloadRound round = m_downloads.run(m_config.server, missing, m_config.parallelDownloads, now);
    if (m_metrics) {
        for (int i = 0; i < round.completed; ++i)
            m_metrics->request("blob", "ok");
        for (int i = 0; i < round.failed; ++i)
            m_metrics->request("blob", "error");
    }
    m_status.bytesDownloaded = m_downloads.totalBytes();
    m_status.downloadError = m_downloads.lastError();
    if (round.completed > 0) {
        m_status.stagedBlobsMissing -= round.completed;
        m_status.stagedBytesMissing = 0;
        for (const auto &[ref, asset] : target->assets)
            if (auto present = m_store.blobs().contains(ref); present && !*present)
                m_status.stagedBytesMissing += asset.size;
    }
    return false;
}

void DownloadChannel::refreshStagedBlocked(bool windowClosed)
{
    std::optional<cache::SyncStatus::StagedBlock> block;
    if (m_manifests.staged && m_status.stagedBlobsMissing > 0) {
        if (windowClosed) {
            const auto [from, until] = *m_config.downloadWindow;
            const bool same = m_status.stagedBlocked &&
                              m_status.stagedBlocked->reason == blockerCode(Blocker::DownloadWindowClosed);
            block = cache::SyncStatus::StagedBlock{
                blockerCode(Blocker::DownloadWindowClosed),
                "Downloads wait for the download window, " + schedule::timeOfDayText(from).toStdString() + "-" +
                    schedule::timeOfDayText(until).toStdString() + " local time.",
                same ? m_status.stagedBlocked->sinceMs : QDateTime::currentMSecsSinceEpoch()};
        } else if (auto problem = m_downloads.longestFailing()) {
            block = cache::SyncStatus::StagedBlock{blockerCode(problem->blocker), problem->message, problem->sinceMs};
        }
    }
    if (block && (!m_status.stagedBlocked || m_status.stagedBlocked->reason != block->reason))
        qCWarning(lcSync, "staged manifest version %lld cannot be activated (%s): %s",
                  static_cast<long long>(m_status.stagedVersion), block->reason.c_str(), block->message.c_str());
    else if (!block && m_status.stagedBlocked && m_manifests.staged)
        qCInfo(lcSync, "staged manifest version %lld: no longer held back (%s is gone)",
               static_cast<long long>(m_status.stagedVersion), m_status.stagedBlocked->reason.c_str());
    m_status.stagedBlocked = std::move(block);
}

} // namespace stoa::sync
