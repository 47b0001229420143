// sync/plays_channel.cpp — see plays_channel.h.
#include "sync/plays_channel.h"

#include "sync/logging.h"
#include "sync/telemetry.h"

namespace stoa::sync {

void PlaysChannel::step(SteadyTime now)
{
    if (now < m_upload.due)
        return;
    auto batch = m_store.plays().batch(m_config.playsBatch);
    if (!m_upload.supported() || !batch || batch->empty()) {
        m_upload.due = now + m_upload.interval();
        return;
    }
    const Uploader::Sent sent = m_upload.send(now, "POST", "application/x-ndjson", playsNdjson(*batch).toStdString());
    if (sent == Uploader::Sent::Ok) {
        if (auto ok = m_store.plays().acknowledge(batch->back().seq); !ok)
            qCWarning(lcSync, "cannot drop uploaded plays: %s", ok.error().message.c_str());
        if (int(batch->size()) == m_config.playsBatch)
            m_upload.due = now; // more waiting: send the next batch right away
    }
    m_status.plays = m_upload.result;
}

} // namespace stoa::sync
