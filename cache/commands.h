// cache/commands.h — manifest command ids already carried out (protocol §3).
//
// Invariant: an id, once recorded, is never forgotten, so a command runs at
// most once per device, ever — across restarts, new manifests and a rebuilt
// state.db: with a StateMirror (the Store's CommandLog has one) a new id is
// appended to state/commands and fdatasync'd inside the transaction that
// records it, before the commit, so no committed id is missing from the
// mirror; a failed mirror write fails the call and records nothing (the
// command does not run). Recovery puts mirrored ids back (recovery.cpp).
//
// Commands the player carries out go through the handover queue: the agent
// records the id as executed and queues it in one transaction (so a crash
// can neither lose nor duplicate it), the player marks it done or failed.
#pragma once

#include "cache/database.h"
#include "cache/error.h"

#include <string>
#include <vector>

namespace stoa::cache {

class StateMirror;

class CommandLog {
public:
    // `db` must outlive the CommandLog.
    explicit CommandLog(Database &db, StateMirror *mirror = nullptr) : m_db(db), m_mirror(mirror) {}

    Result<bool> wasExecuted(const std::string &id);
    // Records the id; returns false if it was already recorded (someone else ran it).
    Result<bool> markExecuted(const std::string &id, const std::string &type, const std::string &result);

    struct Handover {
        std::string id;
        std::string type;
        std::string state; // pending, done, failed
        std::string result;
    };
    // markExecuted + queue for the player, atomically. False if already executed.
    Result<bool> handToPlayer(const std::string &id, const std::string &type);
    Result<std::vector<Handover>> handovers(const std::string &state);
    Result<void> finishHandover(const std::string &id, bool ok, const std::string &result);
    Result<void> removeHandover(const std::string &id);

private:
    Database &m_db;
    StateMirror *m_mirror; // not owned; null: the database only
};

} // namespace stoa::cache
