// cache/commands.h — manifest command ids already carried out (protocol §3).
//
// Invariant: an id, once recorded, is never forgotten, so a command runs at
// most once per device, ever — across restarts and new manifests.
#pragma once

#include "cache/database.h"
#include "cache/error.h"

#include <string>

namespace stoa::cache {

class CommandLog {
public:
    // `db` must outlive the CommandLog.
    explicit CommandLog(Database &db) : m_db(db) {}

    Result<bool> wasExecuted(const std::string &id);
    // Records the id; returns false if it was already recorded (someone else ran it).
    Result<bool> markExecuted(const std::string &id, const std::string &type, const std::string &result);

private:
    Database &m_db;
};

} // namespace stoa::cache
