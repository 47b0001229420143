// cache/changes.h — noticing what the other process committed.
//
// The player learns of a new active manifest through this: it polls
// PRAGMA data_version on its own connection (a read of shared memory, no
// file-system traffic) every `interval`, and only when that moved does it
// read the activation generation. Default interval 250 ms, so a change is
// seen well within the one second the player is allowed.
//
// Opened on a data directory whose Store in this process is a fallback
// (store.h), it does not touch state.db (another process may be moving it
// aside): it waits until that Store adopted the real one, then opens its
// connection and emits changed() and activeManifestChanged() once, so the
// player re-reads everything from the real store.
#pragma once

#include "cache/database.h"
#include "cache/error.h"

#include <memory>

#include <QObject>
#include <QTimer>

#include <chrono>
#include <filesystem>
#include <optional>

namespace stoa::cache {

class ChangeWatcher : public QObject {
    Q_OBJECT
public:
    static Result<std::unique_ptr<ChangeWatcher>> open(const std::filesystem::path &dataDir,
                                                       std::chrono::milliseconds interval = std::chrono::milliseconds(250));

    // Checks now instead of waiting for the timer; returns whether anything changed.
    bool poll();
    std::int64_t generation() const { return m_generation; }

signals:
    void changed();                                    // another connection committed something
    void activeManifestChanged(qint64 generation);     // a different manifest became active

private:
    ChangeWatcher(std::optional<Database> db, std::filesystem::path dataDir, std::chrono::milliseconds interval);

    std::optional<Database> m_db;  // own connection: data_version only moves for others' commits;
                                   // none while the store is a fallback
    std::filesystem::path m_dataDir;
    QTimer m_timer;
    std::int64_t m_dataVersion = -1;
    std::int64_t m_generation = 0; // last seen activation generation
};

} // namespace stoa::cache
