// sync/screenshot_channel.cpp — see screenshot_channel.h.
#include "sync/screenshot_channel.h"

#include "sync/logging.h"

#include <QFile>

namespace stoa::sync {

void ScreenshotChannel::step(SteadyTime now)
{
    if (now < m_upload.due)
        return;
    auto done = m_store.commands().handovers("done");
    std::vector<cache::CommandLog::Handover> shots;
    if (done)
        for (auto &h : *done)
            if (schedule::commandType(h.type) == schedule::CommandType::Screenshot)
                shots.push_back(h);
    if (shots.empty()) {
        m_upload.due = now + m_upload.interval();
        return;
    }
    const auto &h = shots.front();
    const QString file = QString::fromStdString((m_store.dataDir() / "screenshots" / (h.id + ".jpg")).string());
    QFile f(file);
    if (!m_upload.supported() || !f.open(QIODevice::ReadOnly) || f.size() > (16 << 20)) {
        qCWarning(lcSync, "screenshot %s cannot be uploaded (no server support or file missing)", h.id.c_str());
        QFile::remove(file);
        (void)m_store.commands().removeHandover(h.id);
        return;
    }
    const Uploader::Sent sent = m_upload.send(now, "PUT", "image/jpeg", f.readAll().toStdString());
    if (sent != Uploader::Sent::Failed) {
        QFile::remove(file);
        (void)m_store.commands().removeHandover(h.id);
        if (shots.size() > 1)
            m_upload.due = now;
    }
}

} // namespace stoa::sync
