// endpoints/log_format.h — how both processes write their logs.
//
// One line per event on stderr: "<level> <category>: <message>". Under
// systemd (JOURNAL_STREAM set: stderr goes to journald) each line starts
// with the kernel-style priority prefix "<N>" that journald turns into the
// entry's PRIORITY (so `journalctl -p warning` works) and journald adds the
// time; elsewhere (a terminal, a test) an ISO time comes first. Multi-line
// messages are folded onto one line so one event is one journal entry.
// No secret is ever passed to the logger (the bearer token is not logged
// anywhere; URLs never carry credentials) — this format adds none either.
#pragma once

#include <QString>

namespace stoa::endpoints {

// Installs the format for the whole process (Qt's message handler) and
// hides debug lines unless QT_LOGGING_RULES says otherwise. Call once,
// first thing in main().
void installLogFormat();

// The line written for one message (exposed for tests): `journal` selects the
// priority-prefix form. `level` is Qt's QtMsgType as an int.
QString formatLogLine(int level, const char *category, const QString &message, bool journal);

} // namespace stoa::endpoints
