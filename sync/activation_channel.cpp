// sync/activation_channel.cpp — see activation_channel.h.
#include "sync/activation_channel.h"

#include "sync/logging.h"

namespace stoa::sync {

void ActivationChannel::keySetChanged()
{
    dropStagedIfRevoked();
    refreshSignerRevoked();
}

bool ActivationChannel::dropStagedIfRevoked()
{
    // A manifest staged under an older key set but signed by a key since
    // revoked must never activate: after a floor reset, the stolen key's
    // huge version would be back above every manifest the operator can sign.
    if (!m_manifests.staged)
        return false;
    auto staged = m_store.manifests().get(cache::Slot::Staged);
    if (!staged || !*staged || m_trust.signersStillTrusted(QByteArray::fromStdString((*staged)->envelope)))
        return false;
    if (auto ok = m_store.manifests().dropStaged(); !ok) {
        qCWarning(lcSync, "cannot drop the staged manifest signed by a revoked key: %s", ok.error().message.c_str());
        return true; // still there: it must not activate, and the next step tries again
    }
    qCWarning(lcSync, "staged manifest version %lld dropped: its signing key was revoked",
              static_cast<long long>((*staged)->version));
    m_manifests.staged.reset();
    m_status.stagedVersion = 0;
    m_downloads.forgetAll();
    return true;
}

void ActivationChannel::refreshSignerRevoked()
{
    const bool was = m_status.activeSignerRevoked;
    auto active = m_store.manifests().get(cache::Slot::Active);
    m_status.activeSignerRevoked =
        active && *active && !m_trust.signersStillTrusted(QByteArray::fromStdString((*active)->envelope));
    if (m_status.activeSignerRevoked && !was)
        qCWarning(lcSync, "the signing key of the manifest on screen (version %lld) is no longer in the key set; it "
                          "keeps playing until a newer manifest is adopted",
                  static_cast<long long>((*active)->version));
}

void ActivationChannel::step()
{
    if (!m_manifests.staged || m_status.stagedBlobsMissing > 0 || dropStagedIfRevoked())
        return;
    auto ok = m_store.manifests().activateStaged();
    if (!ok) {
        // An asset vanished meanwhile (evicted, scrubbed): downloads fetch it again.
        qCWarning(lcSync, "cannot activate staged manifest yet: %s", ok.error().message.c_str());
        return;
    }
    m_clock.observeSignedIssuedAt(m_manifests.staged->issuedAt);
    m_manifests.active = std::move(m_manifests.staged);
    m_manifests.staged.reset();
    m_status.activeVersion = m_manifests.active->version;
    m_status.stagedVersion = 0;
    m_status.state = "in_sync";
    m_downloads.forgetAll();
    refreshSignerRevoked();
    qCInfo(lcSync, "manifest version %lld is active", static_cast<long long>(m_manifests.active->version));
}

} // namespace stoa::sync
