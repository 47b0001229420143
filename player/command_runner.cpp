// player/command_runner.cpp — handover queue (see command_runner.h).
#include "player/command_runner.h"

#include "player/logging.h"
#include "schedule/manifest.h"

#include <QDir>

namespace stoa::player {

CommandRunner::CommandRunner(cache::Store &store, Grabber grab, QObject *parent)
    : QObject(parent), m_store(store), m_grab(std::move(grab))
{
    m_fallback.setInterval(5000);
    connect(&m_fallback, &QTimer::timeout, this, &CommandRunner::check);
    m_fallback.start();
}

int CommandRunner::check()
{
    auto pending = m_store.commands().handovers("pending");
    if (!pending) {
        qCWarning(lcPlayer, "cannot read handed-over commands: %s", pending.error().message.c_str());
        return 0;
    }
    int handled = 0;
    bool restart = false;
    for (const auto &h : *pending) {
        bool ok = false;
        std::string result;
        const schedule::CommandType type = schedule::commandType(h.type);
        switch (type) {
        case schedule::CommandType::Screenshot:
            ok = screenshot(h.id, result);
            break;
        case schedule::CommandType::RestartPlayer:
            ok = true;
            result = "restarting";
            restart = true;
            break;
        case schedule::CommandType::DisplayOn:
        case schedule::CommandType::DisplayOff:
            ok = display(type == schedule::CommandType::DisplayOn, result);
            break;
        case schedule::CommandType::Reboot:
        case schedule::CommandType::ClearCache:
        case schedule::CommandType::Unknown:
            result = "not a player command: " + h.type;
            break;
        }
        if (auto done = m_store.commands().finishHandover(h.id, ok, result); !done) {
            qCWarning(lcPlayer, "cannot finish command %s: %s", h.id.c_str(), done.error().message.c_str());
            continue;
        }
        ++handled;
        qCInfo(lcPlayer, "command %s (%s): %s%s", h.id.c_str(), h.type.c_str(), ok ? "done" : "failed: ",
               ok ? "" : result.c_str());
    }
    if (restart)
        emit restartRequested(kRestartExitCode);
    return handled;
}

bool CommandRunner::display(bool on, std::string &result)
{
    if (!m_displaySwitch) {
        result = "display control is not configured (display_power = none)";
        return false;
    }
    auto switched = m_displaySwitch(on);
    result = switched ? *switched : switched.error();
    return switched.has_value();
}

bool CommandRunner::screenshot(const std::string &id, std::string &result)
{
    const QDir dir(QString::fromStdString((m_store.dataDir() / "screenshots").string()));
    if (!dir.mkpath(QStringLiteral("."))) {
        result = "cannot create " + dir.path().toStdString();
        return false;
    }
    const QImage image = m_grab ? m_grab() : QImage();
    if (image.isNull()) {
        result = "the window could not be grabbed";
        return false;
    }
    const QString file = dir.filePath(QString::fromStdString(id) + ".jpg");
    const QString temp = file + ".tmp";
    // Written aside and renamed: the agent never uploads half a file.
    if (!image.save(temp, "JPEG", 85) || (QFile::exists(file) && !QFile::remove(file)) || !QFile::rename(temp, file)) {
        QFile::remove(temp);
        result = "cannot write " + file.toStdString();
        return false;
    }
    result = "saved " + file.toStdString();
    return true;
}

} // namespace stoa::player
