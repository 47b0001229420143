// tests/hub/postgres_server.cpp — the throwaway PostgreSQL server (see the
// header). Plain POSIX and libpq, no Qt: the storage suite and the benchmark
// both use it.
#include "postgres_server.h"

#include "loopback_port.h"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

extern char **environ;

namespace stoa::hub::test {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char *kSuperuser = "postgres";
constexpr const char *kDatabase = "stoa";
// How often readiness and child exits are polled; bounded by a deadline.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
// How many times start() picks another port when the one it chose was taken
// between choosing and binding.
constexpr int kPortAttempts = 5;

bool executable(const fs::path &p) { return ::access(p.c_str(), X_OK) == 0; }

bool hasServer(const fs::path &dir) { return executable(dir / "initdb") && executable(dir / "postgres"); }

// Where initdb and postgres live: Debian keeps them off $PATH, under
// /usr/lib/postgresql/<major>/bin; other systems put them on $PATH.
std::optional<fs::path> findBinDir()
{
    if (const char *env = std::getenv("STOA_PG_BINDIR"); env && *env)
        return hasServer(env) ? std::optional<fs::path>(env) : std::nullopt;
    std::error_code ec;
    int best = -1;
    fs::path bestDir;
    for (const auto &entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const std::string name = entry.path().filename().string();
        char *end = nullptr;
        const long major = std::strtol(name.c_str(), &end, 10);
        if (end == name.c_str() || *end != '\0' || major <= best)
            continue;
        if (hasServer(entry.path() / "bin")) {
            best = static_cast<int>(major);
            bestDir = entry.path() / "bin";
        }
    }
    if (best >= 0)
        return bestDir;
    if (const char *path = std::getenv("PATH")) {
        std::stringstream dirs(path);
        for (std::string dir; std::getline(dirs, dir, ':');)
            if (!dir.empty() && hasServer(dir))
                return fs::path(dir);
    }
    return std::nullopt;
}

// Who runs the server: as root, the postgres system user (PostgreSQL
// refuses root); otherwise ourselves, without switching.
struct RunAs {
    bool switchUser = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

std::expected<RunAs, std::string> runAs()
{
    if (::geteuid() != 0)
        return RunAs{};
    const passwd *pw = ::getpwnam(kSuperuser);
    if (!pw)
        return std::unexpected(std::string("running as root, and there is no `postgres` user to run the "
                                           "server as (PostgreSQL refuses root)"));
    return RunAs{true, pw->pw_uid, pw->pw_gid};
}

std::string tail(const fs::path &file, int lines)
{
    std::ifstream in(file);
    if (!in)
        return "(no output in " + file.string() + ")";
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);)
        all.push_back(std::move(line));
    std::string out;
    for (std::size_t i = all.size() > std::size_t(lines) ? all.size() - std::size_t(lines) : 0; i < all.size(); ++i)
        out += all[i] + "\n";
    return out.empty() ? "(no output)" : out;
}

// What `file` holds from byte `offset` on: this start's output only.
std::string readFrom(const fs::path &file, std::uintmax_t offset)
{
    std::ifstream in(file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::string out;
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0)
        out.append(buf, static_cast<std::size_t>(in.gcount()));
    return out;
}

std::string describeStatus(int status)
{
    if (WIFEXITED(status))
        return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("signal ") + ::strsignal(WTERMSIG(status));
    return "status " + std::to_string(status);
}

std::string join(const std::vector<std::string> &argv)
{
    std::string out;
    for (const auto &a : argv)
        out += (out.empty() ? "" : " ") + a;
    return out;
}

// Starts `argv` with stdout and stderr appended to `log`, in `cwd`, as
// `who`. The child is its own process group so stop() can reach every
// backend; with `dieWithParent` it gets SIGQUIT (PostgreSQL's immediate
// shutdown) when the starting thread goes away.
std::expected<pid_t, std::string> spawn(const std::vector<std::string> &argv, const fs::path &log,
                                        const fs::path &cwd, const RunAs &who, bool dieWithParent)
{
    // Everything the child needs is prepared before fork(): after it, in a
    // possibly multi-threaded parent, the child may only make system calls.
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    // The caller's PG* variables (PGDATA, PGPORT, PGHOST…) must not steer
    // the server; LC_ALL=C keeps its messages in English for the log.
    std::vector<std::string> envStore;
    for (char **e = environ; e && *e; ++e) {
        const std::string_view var(*e);
        if (!var.starts_with("PG") && !var.starts_with("LC_") && !var.starts_with("LANG"))
            envStore.emplace_back(var);
    }
    envStore.emplace_back("LC_ALL=C");
    std::vector<char *> env;
    for (auto &v : envStore)
        env.push_back(v.data());
    env.push_back(nullptr);

    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0)
        return std::unexpected("cannot open " + log.string() + ": " + std::strerror(errno));
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        const int err = errno;
        ::close(out);
        return std::unexpected(std::string("cannot open /dev/null: ") + std::strerror(err));
    }
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid == 0) {
        auto die = [out](const char *what) {
            const char *why = std::strerror(errno);
            [[maybe_unused]] auto w1 = ::write(out, what, std::strlen(what));
            [[maybe_unused]] auto w2 = ::write(out, ": ", 2);
            [[maybe_unused]] auto w3 = ::write(out, why, std::strlen(why));
            [[maybe_unused]] auto w4 = ::write(out, "\n", 1);
            ::_exit(127);
        };
        ::setpgid(0, 0);
        if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0)
            die("dup2");
        if (who.switchUser) {
            const gid_t gid = who.gid;
            if (::setgroups(1, &gid) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)
                die("cannot switch to the postgres user");
        }
        // After the uid switch: changing credentials clears the setting.
        if (dieWithParent && (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent))
            die("prctl(PR_SET_PDEATHSIG)");
        if (::chdir(cwd.c_str()) != 0)
            die("chdir");
        ::execve(args[0], args.data(), env.data());
        die(args[0]);
    }
    const int err = errno;
    ::close(out);
    ::close(in);
    if (pid < 0)
        return std::unexpected(std::string("fork: ") + std::strerror(err));
    return pid;
}

// waitpid with a deadline; nullopt when the child is still running.
std::optional<int> waitFor(pid_t pid, Clock::time_point deadline)
{
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1; // not our child any more: nothing left to wait for
        if (Clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(kPollInterval);
    }
}

std::string conninfo(int port, const std::string &db)
{
    return "host=127.0.0.1 port=" + std::to_string(port) + " user=" + kSuperuser + " dbname=" + db +
           " connect_timeout=5";
}

std::string urlOf(int port, const std::string &db)
{
    // Appended, not one chain of + on temporaries: GCC 12's false
    // -Warray-bounds (cmake/precompiled_headers.cmake).
    std::string url = "postgresql://";
    url.append(kSuperuser).append("@127.0.0.1:").append(std::to_string(port)).append("/").append(db);
    return url;
}

bool alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

pid_t pidIn(const fs::path &file)
{
    std::ifstream in(file);
    long pid = 0;
    return in >> pid ? static_cast<pid_t>(pid) : 0;
}

// Directories left by test processes that died without running the
// destructor (a crash, abort(), ctest's timeout kill): their postmaster got
// SIGQUIT through PDEATHSIG, but the directory stays. One is removed only
// when both the process that made it (its `owner` file) and its postmaster
// are gone; one without an owner file may be mid-creation and stays.
void sweepStale(const fs::path &base)
{
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(base, ec)) {
        if (!entry.path().filename().string().starts_with("stoa-pg-"))
            continue;
        const pid_t owner = pidIn(entry.path() / "owner");
        if (owner == 0 || alive(owner) || alive(pidIn(entry.path() / "data" / "postmaster.pid")))
            continue;
        std::error_code ignored;
        fs::remove_all(entry.path(), ignored);
    }
}

} // namespace

struct PostgresServer::State {
    fs::path binDir;
    fs::path dir;     // the temporary directory, removed at the end
    fs::path dataDir; // dir/data
    fs::path log;     // dir/postgres.log
    RunAs who;
    int port = 0;
    pid_t postmaster = -1;
    int databases = 0; // how many createDatabase() made, for unique names

    ~State()
    {
        stop();
        if (!dir.empty()) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    }

    void stop()
    {
        if (postmaster <= 0)
            return;
        // SIGQUIT is "pg_ctl stop -m immediate": the postmaster kills its
        // backends and exits without a checkpoint.
        // It waits for them before it exits, so nothing of the group is left
        // once it is reaped; if it hangs, the whole group gets SIGKILL.
        ::kill(postmaster, SIGQUIT);
        if (!waitFor(postmaster, Clock::now() + std::chrono::seconds(10))) {
            ::kill(-postmaster, SIGKILL);
            waitFor(postmaster, Clock::now() + std::chrono::seconds(10));
        }
        postmaster = -1;
    }

    std::expected<void, std::string> exec(const std::vector<std::string> &argv, const fs::path &logFile,
                                          Clock::time_point deadline)
    {
        auto pid = spawn(argv, logFile, dir, who, false);
        if (!pid)
            return std::unexpected(pid.error());
        const auto status = waitFor(*pid, deadline);
        if (!status) {
            ::kill(-*pid, SIGKILL);
            waitFor(*pid, Clock::now() + std::chrono::seconds(5));
            return std::unexpected(join(argv) + " did not finish in time:\n" + tail(logFile, 20));
        }
        if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
            return std::unexpected(join(argv) + " failed (" + describeStatus(*status) + "):\n" + tail(logFile, 20));
        return {};
    }

    // Runs the postmaster on `port` and waits until it accepts connections.
    // `portTaken` says the failure was the port being in use.
    std::expected<void, std::string> launch(Clock::time_point deadline, bool &portTaken)
    {
        portTaken = false;
        std::error_code ec;
        const std::uintmax_t size = fs::file_size(log, ec);
        const std::uintmax_t logStart = ec ? 0 : size;
        const std::vector<std::string> argv = {
            (binDir / "postgres").string(),
            "-D", dataDir.string(),
            "-p", std::to_string(port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=" + dir.string(),
            "-c", "max_connections=100",
            // Messages to our log file, not to a collector's files.
            "-c", "logging_collector=off",
            // Crash recovery (restart() after the immediate stop()) first
            // makes the data directory durable: by default an fsync of each
            // of its files, thousands once a suite has created its
            // databases, each waiting behind whatever else the disk is
            // writing. One syncfs() instead: measured here after 50
            // databases, with a build writing beside it, a restart took 75 s
            // and 25 s with fsync, 1.6 s and 1.1 s with syncfs (the 60 s
            // restart deadline of hub_http_postgres_test failed on this).
            "-c", "recovery_init_sync_method=syncfs",
        };
        auto pid = spawn(argv, log, dir, who, true);
        if (!pid)
            return std::unexpected(pid.error());
        postmaster = *pid;

        const std::string ping = conninfo(port, "postgres");
        for (;;) {
            int status = 0;
            if (::waitpid(postmaster, &status, WNOHANG) == postmaster) {
                postmaster = -1;
                portTaken = readFrom(log, logStart).find("Address already in use") != std::string::npos;
                return std::unexpected("postgres exited during start-up (" + describeStatus(status) + "), " +
                                       join(argv) + ":\n" + tail(log, 20));
            }
            if (PQping(ping.c_str()) == PQPING_OK)
                return {};
            if (Clock::now() >= deadline) {
                stop();
                return std::unexpected("postgres did not accept connections on 127.0.0.1:" + std::to_string(port) +
                                       " in time:\n" + tail(log, 20));
            }
            std::this_thread::sleep_for(kPollInterval);
        }
    }

    std::expected<void, std::string> createDatabase(const std::string &name)
    {
        PGconn *conn = PQconnectdb(conninfo(port, "postgres").c_str());
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
            std::string why = conn ? PQerrorMessage(conn) : "out of memory";
            PQfinish(conn);
            return std::unexpected("cannot connect to create database " + name + ": " + why);
        }
        // An identifier cannot be a parameter; `name` is ours (stoa, stoa_N).
        PGresult *r = PQexec(conn, ("CREATE DATABASE " + name).c_str());
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        std::string why = ok ? std::string() : PQresultErrorMessage(r);
        PQclear(r);
        PQfinish(conn);
        if (!ok)
            return std::unexpected("CREATE DATABASE " + name + " failed: " + why);
        return {};
    }
};

std::string PostgresServer::unavailableReason()
{
    if (const char *env = std::getenv("STOA_PG_BINDIR"); env && *env && !hasServer(env))
        return std::string("$STOA_PG_BINDIR (") + env + ") holds no executable initdb and postgres";
    if (!findBinDir())
        return "PostgreSQL server binaries (initdb, postgres) not found in $STOA_PG_BINDIR, "
               "/usr/lib/postgresql/*/bin or $PATH (Debian: apt install postgresql)";
    if (auto who = runAs(); !who)
        return who.error();
    return {};
}

bool PostgresServer::available() { return unavailableReason().empty(); }

std::expected<PostgresServer, std::string> PostgresServer::start(std::chrono::milliseconds deadline)
{
    const auto until = Clock::now() + deadline;
    auto state = std::make_unique<State>();
    const auto binDir = findBinDir();
    if (!binDir)
        return std::unexpected(unavailableReason());
    state->binDir = *binDir;
    auto who = runAs();
    if (!who)
        return std::unexpected(who.error());
    state->who = *who;

    // The postgres user must reach the directory: as root, a private
    // $TMPDIR (say /root/tmp) would not do. The socket path must also fit
    // in sockaddr_un (107 bytes).
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    struct stat st {};
    if (ec || base.string().size() > 60 || ::stat(base.c_str(), &st) != 0 ||
        (who->switchUser && (st.st_mode & S_IXOTH) == 0))
        base = "/tmp";
    sweepStale(base);
    std::string pattern = (base / "stoa-pg-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        return std::unexpected("cannot create a directory like " + pattern + ": " + std::strerror(errno));
    state->dir = pattern;
    if (!(std::ofstream(state->dir / "owner") << ::getpid() << "\n"))
        return std::unexpected("cannot write " + (state->dir / "owner").string());
    state->dataDir = state->dir / "data";
    state->log = state->dir / "postgres.log";
    if (who->switchUser && ::chown(state->dir.c_str(), who->uid, who->gid) != 0)
        return std::unexpected("cannot hand " + state->dir.string() + " to the postgres user: " +
                               std::strerror(errno));

    // --no-sync only skips initdb's final flush of the new cluster; the
    // server itself keeps fsync on, so commits cost what they cost.
    const fs::path initdbLog = state->dir / "initdb.log";
    if (auto r = state->exec({(state->binDir / "initdb").string(), "-D", state->dataDir.string(), "-U", kSuperuser,
                              "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"},
                             initdbLog, until);
        !r)
        return std::unexpected(r.error());

    std::string lastError;
    for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
        // If another process takes the port before the postmaster binds it,
        // the bind failure shows in the log and the loop tries another.
        // Below the ephemeral range, so that restart() finds it free again
        // (loopback_port.h).
        state->port = stoa::testing::freeLoopbackPortBelowEphemeral();
        if (state->port == 0)
            return std::unexpected(std::string("no free loopback port: ") + std::strerror(errno));
        bool portTaken = false;
        auto r = state->launch(until, portTaken);
        if (r) {
            lastError.clear();
            break;
        }
        lastError = r.error();
        if (!portTaken)
            break;
    }
    if (!lastError.empty())
        return std::unexpected(lastError);
    if (auto r = state->createDatabase(kDatabase); !r)
        return std::unexpected(r.error());
    return PostgresServer(std::move(state));
}

PostgresServer::PostgresServer(std::unique_ptr<State> state) : d(std::move(state)) {}
PostgresServer::PostgresServer(PostgresServer &&) noexcept = default;
PostgresServer &PostgresServer::operator=(PostgresServer &&) noexcept = default;
PostgresServer::~PostgresServer() = default;

std::string PostgresServer::url() const { return urlOf(d->port, kDatabase); }

std::expected<std::string, std::string> PostgresServer::createDatabase()
{
    const std::string name = std::string(kDatabase) + "_" + std::to_string(++d->databases);
    if (auto r = d->createDatabase(name); !r)
        return std::unexpected(r.error());
    return urlOf(d->port, name);
}

int PostgresServer::port() const { return d->port; }
std::string PostgresServer::directory() const { return d->dir.string(); }
void PostgresServer::stop() { d->stop(); }
bool PostgresServer::running() const { return d->postmaster > 0; }
std::string PostgresServer::logTail(int lines) const { return tail(d->log, lines); }

std::expected<void, std::string> PostgresServer::restart(std::chrono::milliseconds deadline)
{
    if (running())
        return {};
    bool portTaken = false;
    auto r = d->launch(Clock::now() + deadline, portTaken);
    if (!r && portTaken)
        return std::unexpected("port " + std::to_string(d->port) + " was taken while the server was down:\n" +
                               r.error());
    return r;
}

} // namespace stoa::hub::test
