// sync/command_channel.cpp — see command_channel.h.
#include "sync/command_channel.h"

#include "sync/logging.h"

#include <QProcess>

namespace stoa::sync {

void CommandChannel::step()
{
    if (!m_manifests.active || m_doneForVersion == m_manifests.active->version)
        return;
    auto &log = m_store.commands();
    for (const auto &cmd : m_manifests.active->commands) {
        auto done = log.wasExecuted(cmd.id);
        if (!done)
            return; // the store is unhappy; try again next step
        if (*done)
            continue;
        const schedule::CommandType type = schedule::commandType(cmd.type);
        if (schedule::runsInPlayer(type)) {
            (void)log.handToPlayer(cmd.id, cmd.type);
            qCInfo(lcSync, "command %s (%s) handed to the player", cmd.id.c_str(), cmd.type.c_str());
        } else if (type == schedule::CommandType::ClearCache) {
            auto freed = m_store.blobs().evict(UINT64_MAX);
            (void)log.markExecuted(cmd.id, cmd.type,
                                   freed ? "freed " + std::to_string(*freed) + " bytes" : freed.error().message);
            qCInfo(lcSync, "command %s: clear_cache done", cmd.id.c_str());
        } else if (type == schedule::CommandType::Reboot) {
            // Recorded first: a reboot that comes back must not reboot again.
            if (m_config.rebootCommand.empty()) {
                (void)log.markExecuted(cmd.id, cmd.type, "not supported: no reboot_command configured");
                qCWarning(lcSync, "command %s: reboot requested but no reboot_command is configured", cmd.id.c_str());
            } else if (auto fresh = log.markExecuted(cmd.id, cmd.type, "started"); fresh && *fresh) {
                qCInfo(lcSync, "command %s: rebooting (%s)", cmd.id.c_str(), m_config.rebootCommand.c_str());
                QProcess::startDetached("/bin/sh", {"-c", QString::fromStdString(m_config.rebootCommand)});
            }
        } else {
            (void)log.markExecuted(cmd.id, cmd.type, "unknown command type, ignored");
            qCWarning(lcSync, "command %s has unknown type '%s': ignored", cmd.id.c_str(), cmd.type.c_str());
        }
    }
    m_doneForVersion = m_manifests.active->version;
}

} // namespace stoa::sync
