// player/command_runner.cpp — handover queue (see command_runner.h).
#include "player/command_runner.h"

#include "player/logging.h"
#include "schedule/manifest.h"

#include <QDir>
#include <QPointer>

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
        if (m_running.contains(h.id))
            continue; // started by an earlier check; its outcome finishes it
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
            if (startDisplay(h.id, h.type, type == schedule::CommandType::DisplayOn, result)) {
                ++handled;
                continue; // finished by displayDone
            }
            break;
        case schedule::CommandType::Reboot:
        case schedule::CommandType::ClearCache:
        case schedule::CommandType::Unknown:
            result = "not a player command: " + h.type;
            break;
        }
        if (finish(h.id, h.type, ok, result))
            ++handled;
    }
    if (restart) {
        // Display switches on their way write their outcomes first.
        m_restartWaiting = true;
        if (m_running.empty())
            emit restartRequested(kRestartExitCode);
        else
            qCInfo(lcPlayer, "restart waits for %d display command(s) to finish", int(m_running.size()));
    }
    return handled;
}

bool CommandRunner::startDisplay(const std::string &id, const std::string &type, bool on, std::string &result)
{
    if (!m_displaySwitch) {
        result = "display control is not configured (display_power = none)";
        return false;
    }
    m_running.insert(id);
    // The runner may be gone when the outcome comes (shutdown): then it is
    // not written, and the handover is carried out at the next start.
    m_displaySwitch(on, [self = QPointer<CommandRunner>(this), id, type](std::expected<std::string, std::string> outcome) {
        if (self)
            self->displayDone(id, type, std::move(outcome));
    });
    return true;
}

void CommandRunner::displayDone(const std::string &id, const std::string &type,
                                std::expected<std::string, std::string> outcome)
{
    if (!m_running.contains(id))
        return; // a second outcome for one handover: it was finished already
    (void)finish(id, type, outcome.has_value(), outcome ? *outcome : outcome.error());
    m_running.erase(id);
    if (m_restartWaiting && m_running.empty())
        emit restartRequested(kRestartExitCode);
}

bool CommandRunner::finish(const std::string &id, const std::string &type, bool ok, const std::string &result)
{
    if (auto done = m_store.commands().finishHandover(id, ok, result); !done) {
        qCWarning(lcPlayer, "cannot finish command %s: %s", id.c_str(), done.error().message.c_str());
        return false;
    }
    qCInfo(lcPlayer, "command %s (%s): %s%s", id.c_str(), type.c_str(), ok ? "done" : "failed: ",
           ok ? "" : result.c_str());
    emit handoverFinished(QString::fromStdString(id), ok);
    return true;
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
