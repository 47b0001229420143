// tests/hub/postgres_server.h — a real, throwaway PostgreSQL server on
// loopback, for the storage suite and benchmarks of the PostgreSQL backend.
//
// Job: find the server binaries (initdb, postgres), initdb a cluster in a
// fresh temporary directory (trust auth, UTF8, C locale), run the postmaster
// as a child on a free 127.0.0.1 port with its socket in that directory,
// wait until it accepts connections, and create a fresh database for the
// test. stop()/restart() give the outage scenario (clients see the server
// vanish and come back on the same port with the same data).
//
// PostgreSQL refuses to run as root. As root, the directory is handed to the
// `postgres` system user and initdb/postgres run as it (a forked child drops
// to its uid/gid before exec); otherwise they run as the current user.
//
// Invariants:
//  - start() returns only once the server answered PQping and the database
//    exists, or an error naming the failed step with the tail of its output;
//  - readiness is polled against a deadline, never slept for;
//  - the destructor stops the server (immediate shutdown, SIGKILL if that
//    hangs) and removes the directory, so a failing test leaves nothing;
//  - the postmaster gets SIGQUIT (immediate shutdown) if the thread that
//    started it dies, so a crashed test does not leave a server running:
//    call start()/restart() from a thread that outlives the server (the
//    test's main thread). The directory such a test leaves behind is
//    removed by the next start() once its owner and postmaster are gone.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <string>

namespace stoa::hub::test {

class PostgresServer {
public:
    // Whether the server can be started here: binaries found and, as root,
    // a `postgres` user to run them as.
    static bool available();
    // Why not (for QSKIP); empty when available(). The binaries are looked
    // for in $STOA_PG_BINDIR, /usr/lib/postgresql/<newest>/bin, then $PATH.
    static std::string unavailableReason();

    static std::expected<PostgresServer, std::string>
    start(std::chrono::milliseconds deadline = std::chrono::seconds(60));

    PostgresServer(PostgresServer &&) noexcept;
    PostgresServer &operator=(PostgresServer &&) noexcept;
    PostgresServer(const PostgresServer &) = delete;
    PostgresServer &operator=(const PostgresServer &) = delete;
    ~PostgresServer();

    // postgresql://postgres@127.0.0.1:PORT/stoa — the database start() made.
    std::string url() const;
    // Another fresh, empty database; its URL.
    std::expected<std::string, std::string> createDatabase();
    int port() const;
    std::string directory() const; // the temporary directory (data/ inside)

    // Immediate shutdown: every backend is killed, no checkpoint, as in a
    // crash; the data stays for restart().
    void stop();
    // Starts again on the same port and data (crash recovery runs first).
    std::expected<void, std::string> restart(std::chrono::milliseconds deadline = std::chrono::seconds(60));
    bool running() const;

    // The last `lines` lines of the server's output, for failure messages.
    std::string logTail(int lines = 20) const;

    struct State;

private:
    explicit PostgresServer(std::unique_ptr<State> state);
    std::unique_ptr<State> d;
};

} // namespace stoa::hub::test
