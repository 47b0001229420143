// bench/hub_ingest_bench.cpp — the real `stoa-hub serve` under a fleet of
// virtual devices, side by side with nginx answering `return 204;` to the
// same requests, in one run (docs/benchmarks.md, "hub_ingest_bench").
//
// The load generator is in this file: non-blocking sockets and epoll, one
// keep-alive HTTP/1.1 connection per virtual device, one request in flight
// per connection (devices do not pipeline), each device with its own bearer
// token. Requests are the device side of protocol-v1: heartbeats (§5, POST
// /v1/devices/{id}/status, ~1 KB of JSON) and proof-of-play batches (§6,
// POST /v1/devices/{id}/plays, NDJSON records with unique ids) mixed
// `--mix` heartbeats to one batch. Devices are registered through the
// operator API (`stoa-hub operator add` once, then POST /api/v1/devices).
//
// Modes, per storage backend (SQLite, then PostgreSQL on a throwaway server):
//  (a) closed loop: every connection sends its next request as soon as the
//      answer to the last one is in, for `--duration` seconds after a
//      warm-up: answers/s, 2xx/s, latency percentiles, 503s and errors;
//  (b) open loop: requests are due at a fixed offered rate (`--rate`
//      heartbeats/s plus the plays batches of the mix), each on an idle
//      connection (a new one when none is idle); latency runs from the time
//      a request was due, so a server falling behind shows up in it
//      (no coordinated omission);
//  (c) spike: the open loop at `--spike-factor` times (a)'s 2xx rate for
//      `--spike` seconds on a freshly started hub, connections growing up
//      to `--spike-connections`; the hub's VmRSS sampled every 100 ms; how
//      many answers were 2xx, 503 with Retry-After, or no answer at all;
//  (d) RSS with `--devices-large` registered devices: idle (before and
//      after a restart of the hub) and during (a) with every request of a
//      connection coming from another of those devices.
// (a) and (b) also run against nginx (Debian package, `worker_processes 2`,
// `return 204;` for the same locations, keep-alive, access_log off) started
// by the bench. The order is (a), (b), (d), (c): (d) and (c) restart the hub.
// Every mode prints the CPU the server, the database and the generator used
// in the measured window (from /proc), the rest of the machine's busy time
// (kernel threads, and other processes: a run beside a build is visible
// there) and its idle time, so a saturated generator or a disturbed run
// shows: the generator threads' CPU share and, in the open loop, how late
// it sent requests (dispatch lag; more than 1 s late is counted as not sent).
// In (c) the generator opens a new connection when none is idle, up to its
// cap; a request that cannot be sent at the cap is counted, not queued.
// Targets (issue 16) are printed at the end as met / NOT met, never asserted.
//
// Usage: see usage() below or docs/benchmarks.md.
#include "postgres_server.h"
#include "process_probe.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <signal.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char *fmt, ...)
{
    std::fflush(stdout);
    std::va_list ap;
    va_start(ap, fmt);
    std::fputs("hub_ingest_bench: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
    std::exit(1);
}

double secondsSince(Clock::time_point t)
{
    return duration<double>(Clock::now() - t).count();
}

void sleepUntil(Clock::time_point t)
{
    std::this_thread::sleep_until(t);
}

std::string readFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string tailOf(const fs::path &file, int lines)
{
    const std::string all = readFile(file);
    std::size_t pos = all.size();
    for (int i = 0; i <= lines && pos > 0; ++i) {
        const auto nl = all.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            pos = 0;
            break;
        }
        pos = nl;
    }
    return all.substr(pos);
}

// ---- options ---------------------------------------------------------------------------

struct Options {
    int connections = 2000; // virtual devices, one keep-alive connection each
    double durationS = 20;  // (a), (b), (d): measured window
    double warmupS = 2;     // before each window, not counted
    double rate = 5000;     // (b): heartbeats/s offered (plus plays batches: rate / mix)
    int mix = 5;            // heartbeats per plays batch; 0: heartbeats only
    int playsPerBatch = 10;
    double spikeFactor = 10; // (c): times (a)'s 2xx rate
    double spikeRate = 0;    // (c): requests/s; 0: spikeFactor × (a)
    double spikeS = 60;
    int spikeConnections = 8000;  // (c): the generator's cap on open connections
    int largeDevices = 100000;    // (d)
    int registerConnections = 16; // parallel POST /api/v1/devices
    int threads = 1;              // generator threads
    double timeoutS = 10; // a request unanswered this long is given up (and its connection closed)
    std::string only = "abcd";
    std::vector<std::string> backends = {"sqlite", "postgres"};
    bool nginx = true;
    std::string hubBin = STOA_HUB_BIN;
    std::string nginxBin = "/usr/sbin/nginx";
    std::vector<std::string> hubArgs; // appended to `stoa-hub serve`
    std::string work;                 // default: a temporary directory
    bool keep = false;
};

void usage()
{
    std::printf(
        "usage: hub_ingest_bench [--connections N=2000] [--duration S=20] [--warmup S=2]\n"
        "                        [--rate HEARTBEATS_PER_S=5000] [--mix "
        "HEARTBEATS_PER_PLAYS_BATCH=5]\n"
        "                        [--plays-per-batch N=10] [--spike S=60] [--spike-factor F=10]\n"
        "                        [--spike-rate REQ_PER_S] [--spike-connections N=8000]\n"
        "                        [--devices-large N=100000] [--register-connections N=16]\n"
        "                        [--threads N=1] [--timeout S=10] [--only abcd]\n"
        "                        [--backends sqlite,postgres] [--no-nginx] [--hub PATH]\n"
        "                        [--nginx PATH] [--hub-arg ARG]... [--work DIR] [--keep]\n");
}

// ---- processes -------------------------------------------------------------------------

// Starts argv with stdout+stderr appended to `log`; the child gets `deathSignal`
// when the bench dies, so nothing outlives a crashed run.
pid_t spawn(const std::vector<std::string> &argv, const fs::path &log, int deathSignal)
{
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) die("cannot open %s: %s", log.c_str(), std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) die("fork: %s", std::strerror(errno));
    if (pid == 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
        const int in = ::open("/dev/null", O_RDONLY);
        ::dup2(in, 0);
        ::prctl(PR_SET_PDEATHSIG, deathSignal);
        if (::getppid() != parent) ::_exit(127);
        ::execve(args[0], args.data(), environ);
        ::_exit(127);
    }
    ::close(out);
    return pid;
}

// Runs argv to completion; its stdout (stderr goes to `log`). Dies on failure.
std::string runCapture(const std::vector<std::string> &argv, const fs::path &log)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) die("pipe: %s", std::strerror(errno));
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::dup2(err, 2);
        ::execve(args[0], args.data(), environ);
        ::_exit(127);
    }
    ::close(fds[1]);
    ::close(err);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.append(buf, std::size_t(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string cmd;
        for (const auto &a : argv)
            cmd += a + " ";
        die("%sfailed (status %d):\n%s%s", cmd.c_str(), status, out.c_str(),
            tailOf(log, 10).c_str());
    }
    return out;
}

// Waits for `pid` up to `timeout`; true when it exited.
bool waitExit(pid_t pid, double timeoutS)
{
    const auto until = Clock::now() + duration<double>(timeoutS);
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return true;
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

bool alive(pid_t pid)
{
    int status = 0;
    return pid > 0 && ::waitpid(pid, &status, WNOHANG) == 0;
}

// ---- /proc -------------------------------------------------------------------------------

const double kTicks = double(::sysconf(_SC_CLK_TCK));

// VmRSS or VmHWM of `pid` in KiB (tests/harness/process_probe.h; 0 when gone).
long procStatusKiB(pid_t pid, const char *field)
{
    return long(std::max<qint64>(0, stoa::endpoints::testing::procStatusKiB(pid, field)));
}

struct StatLine {
    std::string comm;
    pid_t ppid = 0;
    long ticks = 0; // utime + stime
};

std::optional<StatLine> readStat(const std::string &path)
{
    const std::string s = readFile(path);
    const auto open = s.find('(');
    const auto close = s.rfind(')');
    if (open == std::string::npos || close == std::string::npos) return std::nullopt;
    StatLine out;
    out.comm = s.substr(open + 1, close - open - 1);
    std::istringstream rest(s.substr(close + 2));
    std::string f[13];
    for (auto &x : f)
        rest >>
            x; // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    out.ppid = pid_t(std::atol(f[1].c_str()));
    out.ticks = std::atol(f[11].c_str()) + std::atol(f[12].c_str());
    return out;
}

// Per-thread CPU ticks of a process: tid → (name, ticks).
std::map<pid_t, StatLine> threadTicks(pid_t pid)
{
    std::map<pid_t, StatLine> out;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir, ec)) {
        const pid_t tid = pid_t(std::atol(e.path().filename().c_str()));
        if (auto st = readStat(e.path().string() + "/stat")) out[tid] = *st;
    }
    return out;
}

// CPU ticks of `root` and its direct children (postmaster and backends,
// nginx master and workers).
long treeTicks(pid_t root)
{
    if (root <= 0) return 0;
    long total = 0;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        const pid_t pid = pid_t(std::atol(name.c_str()));
        if (auto st = readStat(e.path().string() + "/stat");
            st && (pid == root || st->ppid == root))
            total += st->ticks;
    }
    return total;
}

// Samples one process's VmRSS every 100 ms on a thread of its own.
class RssSampler {
public:
    explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { loop(); }) {}
    ~RssSampler()
    {
        stop_ = true;
        thread_.join();
    }
    long peakKiB() const { return peak_.load(); }
    long samples() const { return count_.load(); }

private:
    void loop()
    {
        while (!stop_) {
            const long rss = procStatusKiB(pid_, "VmRSS");
            if (rss > peak_) peak_ = rss;
            ++count_;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    pid_t pid_;
    std::atomic<bool> stop_{false};
    std::atomic<long> peak_{0};
    std::atomic<long> count_{0};
    std::thread thread_;
};

// ---- a tiny blocking HTTP client (readiness checks, /metrics) -----------------------------

struct Answer {
    int status = 0;
    std::string body;
};

std::optional<Answer> httpOnce(std::uint16_t port, const std::string &method,
                               const std::string &path, const std::string &extraHeaders = {},
                               const std::string &body = {})
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    std::string req = method + " " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extraHeaders;
    if (!body.empty() || method == "POST")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) {
        ::close(fd);
        return std::nullopt;
    }
    std::string in;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        in.append(buf, std::size_t(n));
    ::close(fd);
    if (!in.starts_with("HTTP/1.")) return std::nullopt;
    Answer out;
    out.status = std::atoi(in.c_str() + 9);
    const auto end = in.find("\r\n\r\n");
    if (end != std::string::npos) out.body = in.substr(end + 4);
    return out;
}

// A value of a metric line `name` (labels included) in a Prometheus text page; -1 if absent.
double metricValue(const std::string &page, const std::string &name)
{
    std::istringstream in(page);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(name + " ")) return std::atof(line.c_str() + name.size() + 1);
    return -1;
}

std::uint16_t freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
        die("no free port: %s", std::strerror(errno));
    ::close(fd);
    return ntohs(a.sin_port);
}

// ---- the servers -------------------------------------------------------------------------

class Nginx {
public:
    Nginx(const std::string &binary, const fs::path &prefix) : prefix_(prefix)
    {
        // As root, nginx's workers run as `nobody`: they must reach the prefix.
        fs::create_directories(prefix_ / "tmp");
        ::chmod(prefix_.c_str(), 0755);
        ::chmod((prefix_ / "tmp").c_str(), 0777);
        port_ = freePort();
        const std::string p = prefix_.string();
        std::ofstream conf(prefix_ / "nginx.conf");
        conf
            << "daemon off;\nmaster_process on;\nworker_processes 2;\nworker_rlimit_nofile 20000;\n"
            << "pid " << p << "/nginx.pid;\nerror_log " << p << "/error.log warn;\n"
            << "events { worker_connections 16384; }\n"
            << "http {\n  access_log off;\n  keepalive_timeout 65s;\n  keepalive_requests "
               "100000000;\n"
            << "  client_max_body_size 8m;\n"
            << "  client_body_temp_path " << p << "/tmp/body;\n  proxy_temp_path " << p
            << "/tmp/proxy;\n"
            << "  fastcgi_temp_path " << p << "/tmp/fastcgi;\n  uwsgi_temp_path " << p
            << "/tmp/uwsgi;\n"
            << "  scgi_temp_path " << p << "/tmp/scgi;\n"
            << "  server {\n    listen 127.0.0.1:" << port_ << " backlog=1024;\n"
            << "    location /v1/ { return 204; }\n    location /api/ { return 204; }\n"
            << "  }\n}\n";
        conf.close();
        pid_ = spawn({binary, "-p", p + "/", "-c", p + "/nginx.conf", "-e", p + "/error.log"},
                     prefix_ / "stdout.log", SIGTERM);
        const auto until = Clock::now() + std::chrono::seconds(15);
        while (Clock::now() < until) {
            if (!alive(pid_))
                die("nginx exited at start-up:\n%s", tailOf(prefix_ / "error.log", 10).c_str());
            if (auto a = httpOnce(port_, "POST", "/v1/devices/x/status"); a && a->status == 204)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        die("nginx did not answer on port %u:\n%s", port_,
            tailOf(prefix_ / "error.log", 10).c_str());
    }
    ~Nginx()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            if (!waitExit(pid_, 10)) {
                ::kill(pid_, SIGKILL);
                waitExit(pid_, 5);
            }
        }
    }
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }

private:
    fs::path prefix_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

class Hub {
public:
    Hub(std::string binary, fs::path dataDir, std::string databaseUrl,
        std::vector<std::string> extra, fs::path log)
        : binary_(std::move(binary)), dataDir_(std::move(dataDir)),
          databaseUrl_(std::move(databaseUrl)), extra_(std::move(extra)), log_(std::move(log))
    {
    }
    ~Hub() { stop(); }

    std::vector<std::string> serveArgs() const
    {
        std::vector<std::string> a = {binary_,           "serve",    "--data-dir",
                                      dataDir_.string(), "--listen", "127.0.0.1:0"};
        if (!databaseUrl_.empty()) a.insert(a.end(), {"--database", databaseUrl_});
        a.insert(a.end(), extra_.begin(), extra_.end());
        return a;
    }

    void start()
    {
        std::error_code ec;
        const auto offset = fs::exists(log_) ? fs::file_size(log_, ec) : 0;
        pid_ = spawn(serveArgs(), log_, SIGKILL);
        const auto until = Clock::now() + std::chrono::seconds(60);
        const std::string marker = "serving http://127.0.0.1:";
        while (Clock::now() < until) {
            const std::string text =
                readFile(log_).substr(std::min<std::size_t>(offset, fs::file_size(log_, ec)));
            if (const auto at = text.find(marker); at != std::string::npos) {
                port_ = std::uint16_t(std::atoi(text.c_str() + at + marker.size()));
                return;
            }
            if (!alive(pid_)) die("stoa-hub exited at start-up:\n%s", tailOf(log_, 10).c_str());
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        die("stoa-hub did not log its port:\n%s", tailOf(log_, 10).c_str());
    }

    void stop()
    {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        if (!waitExit(pid_, 30)) {
            std::printf("    (stoa-hub did not stop within 30 s of SIGTERM: killed)\n");
            ::kill(pid_, SIGKILL);
            waitExit(pid_, 5);
        }
        pid_ = -1;
    }

    void restart()
    {
        stop();
        start();
    }

    std::string addOperator() const
    {
        std::vector<std::string> a = {binary_,  "operator", "add",        "bench",
                                      "--role", "admin",    "--data-dir", dataDir_.string()};
        if (!databaseUrl_.empty()) a.insert(a.end(), {"--database", databaseUrl_});
        const std::string out = runCapture(a, log_);
        std::istringstream in(out);
        std::string line, last;
        while (std::getline(in, line))
            if (!line.empty()) last = line;
        if (!last.starts_with("stoa_op_")) die("operator add printed no token:\n%s", out.c_str());
        return last;
    }

    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }
    void checkAlive() const
    {
        if (!alive(pid_)) die("stoa-hub (pid %d) is gone:\n%s", pid_, tailOf(log_, 15).c_str());
    }

private:
    std::string binary_;
    fs::path dataDir_;
    std::string databaseUrl_;
    std::vector<std::string> extra_;
    fs::path log_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

// ---- the load generator ------------------------------------------------------------------

struct Device {
    std::string id;
    std::string token;
};

enum class Kind : std::uint8_t { Status, Plays, Register };

struct LoadSpec {
    enum class Mode { Closed, Open, Register } mode = Mode::Closed;
    std::uint16_t port = 0;
    int connections = 0;    // opened before the start (closed loop: all there is)
    int maxConnections = 0; // open loop: may grow to this many
    double rate = 0;        // open loop: requests/s offered (all kinds, all threads)
    double warmupS = 2, durationS = 20, timeoutS = 10;
    int mix = 5;
    int playsPerBatch = 10;
    const std::vector<Device> *devices = nullptr;
    int deviceCount = 0; // how many of *devices requests come from
    bool rotate = false; // request k of connection i comes from device i + k·connections
    int threads = 1;
    int runId = 0; // part of every play id: unique across runs
    // Register mode: POST /api/v1/devices for ids [registerFrom, registerTo).
    std::string operatorToken;
    std::vector<Device> *registered = nullptr;
    int registerFrom = 0, registerTo = 0;
};

struct LoadResult {
    double windowS = 0;
    std::uint64_t offered = 0; // requests due (open loop) or started (closed loop) in the window
    std::uint64_t ok = 0, okStatus = 0, okPlays = 0;
    std::uint64_t s503 = 0, s503Retry = 0, s4xx = 0, s5xx = 0, sOther = 0;
    std::uint64_t closedNoAnswer = 0, connectFailed = 0, timeouts = 0, unsentAtCap = 0,
                  unsentLate = 0, badResponse = 0;
    std::uint64_t connects = 0; // connections opened in the window
    int peakConnections = 0;    // open at once, all threads (sum of per-thread peaks)
    std::vector<std::uint32_t> latOk, latOther, lag; // µs
    double genCpuS = 0;                              // generator threads' CPU in the window
    double elapsedS = 0;                             // register mode: wall time
    std::uint64_t requestBytes = 0, requests = 0;    // for the mean request size
    std::string firstUnexpected;

    std::uint64_t answered() const { return ok + s503 + s4xx + s5xx + sOther; }
    std::uint64_t failed() const { return closedNoAnswer + connectFailed + timeouts + badResponse; }

    void merge(LoadResult &&o)
    {
        windowS = std::max(windowS, o.windowS);
        elapsedS = std::max(elapsedS, o.elapsedS);
        offered += o.offered;
        ok += o.ok;
        okStatus += o.okStatus;
        okPlays += o.okPlays;
        s503 += o.s503;
        s503Retry += o.s503Retry;
        s4xx += o.s4xx;
        s5xx += o.s5xx;
        sOther += o.sOther;
        closedNoAnswer += o.closedNoAnswer;
        connectFailed += o.connectFailed;
        timeouts += o.timeouts;
        unsentAtCap += o.unsentAtCap;
        unsentLate += o.unsentLate;
        badResponse += o.badResponse;
        connects += o.connects;
        peakConnections += o.peakConnections;
        genCpuS += o.genCpuS;
        requestBytes += o.requestBytes;
        requests += o.requests;
        for (auto *v : {&latOk, &latOther, &lag}) {
            auto &from = v == &latOk ? o.latOk : v == &latOther ? o.latOther : o.lag;
            v->insert(v->end(), from.begin(), from.end());
        }
        if (firstUnexpected.empty()) firstUnexpected = std::move(o.firstUnexpected);
    }
};

struct Shared {
    explicit Shared(int threads) : ready(threads) {}
    std::latch ready;
    std::latch go{1};
    std::atomic<std::int64_t> t0{0}; // steady clock, ns
    std::atomic<int> nextRegister{0};
};

double threadCpuS()
{
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

std::string rfc3339(std::time_t t)
{
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

constexpr const char *kAsset =
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

class Worker {
public:
    Worker(const LoadSpec &spec, int index, Shared &shared)
        : spec_(spec), index_(index), shared_(shared)
    {
        firstConn_ = int(std::int64_t(spec.connections) * index / spec.threads);
        lastConn_ = int(std::int64_t(spec.connections) * (index + 1) / spec.threads);
        maxOpen_ = std::max(
            lastConn_ - firstConn_,
            int(std::int64_t(std::max(spec.maxConnections, spec.connections)) / spec.threads));
        rate_ = spec.rate / spec.threads;
        extraDevice_ = spec.connections + index;
    }

    void run()
    {
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) die("epoll_create1: %s", std::strerror(errno));
        // Connect phase: every initial connection, at most 256 handshakes at once.
        const auto connectUntil = Clock::now() + std::chrono::seconds(30);
        int nextConn = firstConn_;
        while (Clock::now() < connectUntil) {
            while (nextConn < lastConn_ && connecting_ < 256) {
                const int slot = newSlot();
                conns_[std::size_t(slot)].device = nextConn++;
                openConn(slot, Clock::now());
            }
            if (nextConn >= lastConn_ && connecting_ == 0) break;
            poll(Clock::now() + std::chrono::milliseconds(50));
        }
        if (connecting_ > 0) die("%d connection(s) still not established after 30 s", connecting_);
        shared_.ready.count_down();
        shared_.go.wait();
        t0_ = Clock::time_point(Clock::duration(shared_.t0.load()));
        windowStart_ =
            t0_ + std::chrono::duration_cast<Clock::duration>(duration<double>(spec_.warmupS));
        windowEnd_ = windowStart_ +
                     std::chrono::duration_cast<Clock::duration>(duration<double>(spec_.durationS));
        const auto hardEnd = windowEnd_ + std::chrono::duration_cast<Clock::duration>(
                                              duration<double>(spec_.timeoutS + 1));
        result.windowS = spec_.durationS;
        nextArrival_ = t0_ + std::chrono::duration_cast<Clock::duration>(
                                 duration<double>(rate_ > 0 ? double(index_) / spec_.rate : 0));

        if (spec_.mode != LoadSpec::Mode::Open) {
            const auto now = Clock::now();
            for (std::size_t s = 0; s < conns_.size(); ++s)
                if (conns_[s].st == St::Idle) issue(int(s), now);
        }
        auto nextScan = Clock::now() + std::chrono::milliseconds(100);
        const double cpuStart0 = threadCpuS();
        while (true) {
            auto now = Clock::now();
            if (!inWindowCpu_ && now >= windowStart_ && spec_.mode != LoadSpec::Mode::Register) {
                inWindowCpu_ = true;
                cpuAtStart_ = threadCpuS();
            }
            if (inWindowCpu_ && !cpuDone_ && now >= windowEnd_) {
                cpuDone_ = true;
                result.genCpuS = threadCpuS() - cpuAtStart_;
            }
            const bool sending =
                spec_.mode == LoadSpec::Mode::Register ? !registerDone_ : now < windowEnd_;
            if (!sending && outstanding() == 0) break;
            if (now >= hardEnd && spec_.mode != LoadSpec::Mode::Register) break;
            if (spec_.mode == LoadSpec::Mode::Open) dispatchDue(now);
            if (now >= nextScan) {
                scanTimeouts(now);
                nextScan = now + std::chrono::milliseconds(100);
            }
            auto wake = nextScan;
            if (spec_.mode == LoadSpec::Mode::Open && nextArrival_ < windowEnd_)
                wake = std::min(wake, nextArrival_);
            if (!inWindowCpu_ && spec_.mode != LoadSpec::Mode::Register)
                wake = std::min(wake, windowStart_);
            else if (!cpuDone_ && spec_.mode != LoadSpec::Mode::Register)
                wake = std::min(wake, windowEnd_);
            poll(wake);
        }
        if (!cpuDone_) result.genCpuS = threadCpuS() - (inWindowCpu_ ? cpuAtStart_ : cpuStart0);
        if (spec_.mode == LoadSpec::Mode::Register) result.elapsedS = secondsSince(t0_);
        for (std::size_t s = 0; s < conns_.size(); ++s)
            if (conns_[s].fd >= 0) closeConn(int(s));
        ::close(ep_);
    }

    LoadResult result;

private:
    enum class St : std::uint8_t { Free, Connecting, Idle, Busy };
    struct Conn {
        int fd = -1;
        St st = St::Free;
        std::uint32_t gen = 0;
        bool hasRequest = false; // built, not yet (fully) written
        bool counted = false;
        bool wantOut = false;
        Kind kind = Kind::Status;
        int device = 0;
        int regIndex = -1;
        Clock::time_point intended;
        std::string out;
        std::size_t outOff = 0;
        std::string in;
        std::size_t headerEnd = 0, bodyLen = 0;
        int status = 0;
        bool retryAfter = false, closeAfter = false;
    };

    int newSlot()
    {
        if (!freeSlots_.empty()) {
            const int s = freeSlots_.back();
            freeSlots_.pop_back();
            return s;
        }
        conns_.emplace_back();
        return int(conns_.size() - 1);
    }

    int outstanding() const { return busy_; }

    bool inWindow(Clock::time_point t) const { return t >= windowStart_ && t < windowEnd_; }

    void ctl(int op, int slot, std::uint32_t events)
    {
        auto &c = conns_[std::size_t(slot)];
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = (std::uint64_t(c.gen) << 32) | std::uint32_t(slot);
        ::epoll_ctl(ep_, op, c.fd, &ev);
    }

    void openConn(int slot, Clock::time_point now)
    {
        auto &c = conns_[std::size_t(slot)];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0)
            die("socket: %s (raise the open-files limit or lower --spike-connections)",
                std::strerror(errno));
        ++c.gen;
        const int one = 1;
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(spec_.port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ++open_;
        result.peakConnections = std::max(result.peakConnections, open_);
        if (inWindow(now)) ++result.connects;
        const int r = ::connect(c.fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
        if (r != 0 && errno != EINPROGRESS) {
            // Counted by the caller's request, if any.
            c.st = St::Connecting;
            ++connecting_;
            connectFailed(slot);
            return;
        }
        c.st = St::Connecting;
        ++connecting_;
        c.wantOut = true;
        ctl(EPOLL_CTL_ADD, slot, EPOLLIN | EPOLLOUT);
    }

    void closeConn(int slot)
    {
        auto &c = conns_[std::size_t(slot)];
        if (c.fd < 0) return;
        if (c.st == St::Connecting) --connecting_;
        if (c.st == St::Busy || (c.st == St::Connecting && c.hasRequest)) --busy_;
        ::close(c.fd);
        c.fd = -1;
        c.st = St::Free;
        c.hasRequest = false;
        c.wantOut = false;
        c.in.clear();
        c.headerEnd = 0;
        ++c.gen;
        --open_;
        if (spec_.mode == LoadSpec::Mode::Open) freeSlots_.push_back(slot);
    }

    // The device request k of a connection comes from.
    int deviceFor(Conn &c)
    {
        if (spec_.rotate) {
            c.device = (c.device + spec_.connections) % spec_.deviceCount;
            return c.device;
        }
        return c.device % spec_.deviceCount;
    }

    void build(Conn &c)
    {
        char body[8192];
        int n = 0;
        const char *path = "status";
        const char *type = "application/json";
        const std::string *token = nullptr;
        std::string idBuf;
        const std::string *id = &idBuf;
        if (c.kind == Kind::Register) {
            char idc[32];
            std::snprintf(idc, sizeof idc, "bench-%06d", c.regIndex);
            idBuf = idc;
            n = std::snprintf(body, sizeof body, "{\"id\": \"%s\"}", idc);
            token = &spec_.operatorToken;
        } else {
            const Device &d = (*spec_.devices)[std::size_t(deviceFor(c))];
            id = &d.id;
            token = &d.token;
            const std::time_t now = std::time(nullptr);
            if (now != cachedSecond_) {
                cachedSecond_ = now;
                nowText_ = rfc3339(now);
            }
            const long uptime = 86400 + long(++sequence_ % 100000);
            if (c.kind == Kind::Status) {
                n = std::snprintf(
                    body, sizeof body,
                    "{\"device_id\":\"%s\",\"software_version\":\"0.1.0\",\"sent_at\":\"%s\","
                    "\"uptime_s\":%ld,"
                    "\"manifest\":{\"version\":42,\"expires_at\":\"2031-01-01T00:00:00Z\","
                    "\"stale\":false},"
                    "\"now_playing\":{\"playlist\":\"lobby-weekday-morning\",\"asset\":\"%s\","
                    "\"url\":null,"
                    "\"item\":3,\"started_at\":\"%s\"},"
                    "\"sync\":{\"last_success_at\":\"%s\",\"last_error\":\"GET "
                    "https://hub.example.net/v1/devices/%s/"
                    "manifest.json: timed out after 30 s\",\"consecutive_failures\":0},"
                    "\"cache\":{\"bytes_used\":1234567890,\"bytes_limit\":8000000000,\"assets\":37,"
                    "\"partial_bytes\":0,\"evicted_bytes\":0},"
                    "\"clock\":{\"trusted\":true,\"source\":\"ntp\",\"offset_ms\":-3},"
                    "\"health\":{\"cpu_temp_c\":51.2,\"throttled\":false,\"disk_free_bytes\":"
                    "1234567890,"
                    "\"load_1m\":0.42,\"memory_available_bytes\":1523456789,\"display\":\"HDMI-A-1 "
                    "1920x1080@60\"},"
                    "\"pending_commands\":[{\"id\":\"cmd-2031-01-01-0001\",\"type\":\"screenshot\"}"
                    "]}",
                    d.id.c_str(), nowText_.c_str(), uptime, kAsset, nowText_.c_str(),
                    nowText_.c_str(), d.id.c_str());
            } else {
                path = "plays";
                type = "application/x-ndjson";
                const std::uint64_t batch = ++sequence_;
                for (int k = 0; k < spec_.playsPerBatch && n < int(sizeof body) - 400; ++k)
                    n += std::snprintf(
                        body + n, sizeof body - std::size_t(n),
                        "{\"id\":\"r%d-t%d-%" PRIu64 "-%d\",\"asset\":\"%s\",\"url\":null,"
                        "\"playlist\":\"lobby-weekday-morning\",\"started_at\":\"%s\","
                        "\"duration_ms\":8000,\"completed\":true}\n",
                        spec_.runId, index_, batch, k, kAsset, nowText_.c_str());
            }
        }
        c.out.clear();
        if (c.kind == Kind::Register)
            c.out += "POST /api/v1/devices HTTP/1.1\r\n";
        else
            c.out.append("POST /v1/devices/")
                .append(*id)
                .append("/")
                .append(path)
                .append(" HTTP/1.1\r\n");
        c.out.append("Host: 127.0.0.1:").append(std::to_string(spec_.port)).append("\r\n");
        c.out.append("User-Agent: stoa/0.1.0 (").append(*id).append(")\r\n");
        c.out.append("Authorization: Bearer ").append(*token).append("\r\n");
        c.out.append("Content-Type: ").append(type).append("\r\n");
        c.out.append("Content-Length: ").append(std::to_string(n)).append("\r\n\r\n");
        c.out.append(body, std::size_t(n));
        c.outOff = 0;
        result.requestBytes += std::uint64_t(n);
        ++result.requests;
    }

    Kind nextKind()
    {
        if (spec_.mode == LoadSpec::Mode::Register) return Kind::Register;
        const std::uint64_t k = kindCounter_++;
        return spec_.mix > 0 && k % std::uint64_t(spec_.mix + 1) == std::uint64_t(spec_.mix)
                   ? Kind::Plays
                   : Kind::Status;
    }

    // Starts a request on `slot` (connecting first if it is closed);
    // `intended` is when it was due.
    void issue(int slot, Clock::time_point intended)
    {
        auto &c = conns_[std::size_t(slot)];
        c.kind = nextKind();
        if (c.kind == Kind::Register) {
            c.regIndex = spec_.registerFrom + shared_.nextRegister.fetch_add(1);
            if (c.regIndex >= spec_.registerTo) {
                registerDone_ = true;
                closeConn(slot);
                return;
            }
        }
        c.intended = intended;
        c.counted = spec_.mode == LoadSpec::Mode::Register || inWindow(intended);
        if (c.counted) ++result.offered;
        build(c);
        c.hasRequest = true;
        c.in.clear();
        c.headerEnd = 0;
        ++busy_;
        if (c.st == St::Free) {
            openConn(slot, Clock::now());
            return;
        }
        c.st = St::Busy;
        writeOut(slot);
    }

    void dispatchDue(Clock::time_point now)
    {
        const auto step =
            std::chrono::duration_cast<Clock::duration>(duration<double>(1.0 / rate_));
        while (nextArrival_ <= now && nextArrival_ < windowEnd_) {
            const auto due = nextArrival_;
            nextArrival_ += step;
            if (now - due > std::chrono::seconds(1)) {
                // The generator itself fell behind: said, not hidden in the latency.
                if (inWindow(due)) {
                    ++result.offered;
                    ++result.unsentLate;
                }
                ++kindCounter_;
                continue;
            }
            int slot = -1;
            while (!idle_.empty()) {
                const int s = idle_.back();
                idle_.pop_back();
                if (conns_[std::size_t(s)].st == St::Idle) {
                    slot = s;
                    break;
                }
            }
            if (slot < 0) {
                if (open_ >= maxOpen_) {
                    if (inWindow(due)) {
                        ++result.offered;
                        ++result.unsentAtCap;
                    }
                    ++kindCounter_;
                    continue;
                }
                slot = newSlot();
                conns_[std::size_t(slot)].device = extraDevice_;
                extraDevice_ += spec_.threads;
            }
            if (inWindow(due))
                result.lag.push_back(std::uint32_t(
                    std::chrono::duration_cast<std::chrono::microseconds>(now - due).count()));
            issue(slot, due);
        }
    }

    void writeOut(int slot)
    {
        auto &c = conns_[std::size_t(slot)];
        while (c.outOff < c.out.size()) {
            const ssize_t n =
                ::send(c.fd, c.out.data() + c.outOff, c.out.size() - c.outOff, MSG_NOSIGNAL);
            if (n > 0) {
                c.outOff += std::size_t(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (!c.wantOut) {
                    c.wantOut = true;
                    ctl(EPOLL_CTL_MOD, slot, EPOLLIN | EPOLLOUT);
                }
                return;
            }
            lost(slot); // reset by the server
            return;
        }
        c.hasRequest = false;
        if (c.wantOut) {
            c.wantOut = false;
            ctl(EPOLL_CTL_MOD, slot, EPOLLIN);
        }
    }

    void connectFailed(int slot)
    {
        auto &c = conns_[std::size_t(slot)];
        if (c.hasRequest && c.counted) ++result.connectFailed;
        const bool had = c.hasRequest;
        closeConn(slot);
        // The closed loop tries again at the next scan, not at once: a
        // refused connect can fail synchronously, and must not recurse.
        if (had && spec_.mode != LoadSpec::Mode::Open) retry_.push_back(slot);
    }

    // The connection broke with a request outstanding.
    void lost(int slot)
    {
        auto &c = conns_[std::size_t(slot)];
        if (c.counted) ++result.closedNoAnswer;
        closeConn(slot);
        next(slot);
    }

    // After an answer (or a failure) on `slot`: the closed loop sends the next request.
    void next(int slot)
    {
        if (spec_.mode == LoadSpec::Mode::Open) {
            if (conns_[std::size_t(slot)].st == St::Idle) idle_.push_back(slot);
            return;
        }
        const auto now = Clock::now();
        if (spec_.mode == LoadSpec::Mode::Register ? !registerDone_ : now < windowEnd_)
            issue(slot, now);
        else if (conns_[std::size_t(slot)].fd >= 0 && conns_[std::size_t(slot)].st != St::Idle)
            closeConn(slot);
    }

    void onConnected(int slot)
    {
        auto &c = conns_[std::size_t(slot)];
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            connectFailed(slot);
            return;
        }
        --connecting_;
        if (c.hasRequest) {
            c.st = St::Busy;
            writeOut(slot);
        } else {
            c.st = St::Idle;
            c.wantOut = false;
            ctl(EPOLL_CTL_MOD, slot, EPOLLIN);
            idle_.push_back(slot);
        }
    }

    static bool headerIs(std::string_view line, std::string_view name)
    {
        if (line.size() <= name.size() || line[name.size()] != ':') return false;
        for (std::size_t i = 0; i < name.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
        return true;
    }

    // 1: complete, 0: more to read, -1: not an answer we can frame.
    int parse(Conn &c)
    {
        if (c.headerEnd == 0) {
            const auto end = c.in.find("\r\n\r\n");
            if (end == std::string::npos) return c.in.size() > 65536 ? -1 : 0;
            c.headerEnd = end + 4;
            if (!c.in.starts_with("HTTP/1.")) return -1;
            c.status = std::atoi(c.in.c_str() + 9);
            c.retryAfter = false;
            c.closeAfter = c.in.starts_with("HTTP/1.0");
            std::optional<std::size_t> length;
            bool chunked = false;
            std::size_t pos = c.in.find("\r\n") + 2;
            while (pos < end) {
                const auto eol = c.in.find("\r\n", pos);
                const std::string_view line(c.in.data() + pos, eol - pos);
                pos = eol + 2;
                if (headerIs(line, "content-length"))
                    length = std::size_t(std::strtoull(line.data() + 15, nullptr, 10));
                else if (headerIs(line, "retry-after"))
                    c.retryAfter = true;
                else if (headerIs(line, "connection"))
                    c.closeAfter = c.closeAfter || line.find("close") != std::string_view::npos;
                else if (headerIs(line, "transfer-encoding"))
                    chunked = true;
            }
            if (c.status == 204 || c.status == 304 || (c.status >= 100 && c.status < 200))
                c.bodyLen = 0;
            else if (length && !chunked)
                c.bodyLen = *length;
            else
                return -1;
        }
        return c.in.size() >= c.headerEnd + c.bodyLen ? 1 : 0;
    }

    void record(int slot, Clock::time_point now)
    {
        auto &c = conns_[std::size_t(slot)];
        --busy_;
        c.st = St::Idle;
        if (c.kind == Kind::Register) {
            const std::string body = c.in.substr(c.headerEnd, c.bodyLen);
            const auto at = body.find("\"token\":\"");
            if (c.status != 201 || at == std::string::npos)
                die("POST /api/v1/devices for bench-%06d answered %d: %s", c.regIndex, c.status,
                    body.c_str());
            const auto end = body.find('"', at + 9);
            char idc[32];
            std::snprintf(idc, sizeof idc, "bench-%06d", c.regIndex);
            (*spec_.registered)[std::size_t(c.regIndex)] = {idc, body.substr(at + 9, end - at - 9)};
            ++result.ok;
        } else if (c.counted) {
            const auto us = std::uint32_t(
                std::chrono::duration_cast<std::chrono::microseconds>(now - c.intended).count());
            if (c.status >= 200 && c.status < 300) {
                ++result.ok;
                ++(c.kind == Kind::Status ? result.okStatus : result.okPlays);
                result.latOk.push_back(us);
            } else {
                result.latOther.push_back(us);
                if (c.status == 503) {
                    ++result.s503;
                    if (c.retryAfter) ++result.s503Retry;
                } else if (c.status >= 400 && c.status < 500) {
                    ++result.s4xx;
                } else if (c.status >= 500) {
                    ++result.s5xx;
                } else {
                    ++result.sOther;
                }
                if (result.firstUnexpected.empty() && c.status != 503)
                    result.firstUnexpected =
                        c.in.substr(0, c.headerEnd + std::min<std::size_t>(c.bodyLen, 300));
            }
        }
        const bool close = c.closeAfter;
        c.in.clear();
        c.headerEnd = 0;
        if (close) closeConn(slot);
        next(slot);
    }

    void onReadable(int slot)
    {
        auto &c = conns_[std::size_t(slot)];
        char buf[16384];
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            if (c.st == St::Busy)
                lost(slot);
            else
                closeConn(slot); // the server closed an idle connection
            return;
        }
        if (c.st != St::Busy) {
            closeConn(slot); // bytes nobody asked for
            return;
        }
        c.in.append(buf, std::size_t(n));
        const int p = parse(c);
        if (p == 0) return;
        if (p < 0) {
            if (c.counted) {
                ++result.badResponse;
                if (result.firstUnexpected.empty()) result.firstUnexpected = c.in.substr(0, 300);
            }
            --busy_;
            c.st = St::Idle;
            closeConn(slot);
            next(slot);
            return;
        }
        record(slot, Clock::now());
    }

    void poll(Clock::time_point until)
    {
        epoll_event events[512];
        const auto now = Clock::now();
        const auto wait = until > now ? until - now : Clock::duration::zero();
        timespec ts{};
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
        ts.tv_sec = ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        const int n = ::epoll_pwait2(ep_, events, 512, &ts, nullptr);
        for (int i = 0; i < n; ++i) {
            const int slot = int(events[i].data.u64 & 0xffffffffu);
            const auto gen = std::uint32_t(events[i].data.u64 >> 32);
            auto &c = conns_[std::size_t(slot)];
            if (c.fd < 0 || c.gen != gen) continue; // closed or reused since the event was queued
            if (c.st == St::Connecting) {
                if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) onConnected(slot);
                continue;
            }
            if ((events[i].events & EPOLLOUT) && c.st == St::Busy && c.hasRequest) writeOut(slot);
            if (c.fd >= 0 && c.gen == gen && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                onReadable(slot);
        }
    }

    void scanTimeouts(Clock::time_point now)
    {
        std::vector<int> again;
        again.swap(retry_);
        for (const int s : again)
            if (conns_[std::size_t(s)].st == St::Free) next(s);
        const auto limit =
            std::chrono::duration_cast<Clock::duration>(duration<double>(spec_.timeoutS));
        for (std::size_t s = 0; s < conns_.size(); ++s) {
            auto &c = conns_[s];
            if (c.fd < 0) continue;
            const bool waiting = c.st == St::Busy || (c.st == St::Connecting && c.hasRequest);
            if (waiting && now - c.intended > limit) {
                if (c.counted) ++result.timeouts;
                closeConn(int(s));
                next(int(s));
            }
        }
    }

    const LoadSpec &spec_;
    const int index_;
    Shared &shared_;
    int firstConn_ = 0, lastConn_ = 0, maxOpen_ = 0;
    double rate_ = 0;
    int extraDevice_ = 0;
    int ep_ = -1;
    std::vector<Conn> conns_;
    std::vector<int> freeSlots_, idle_, retry_;
    int open_ = 0, connecting_ = 0, busy_ = 0;
    bool registerDone_ = false;
    Clock::time_point t0_, windowStart_, windowEnd_, nextArrival_;
    bool inWindowCpu_ = false, cpuDone_ = false;
    double cpuAtStart_ = 0;
    std::uint64_t kindCounter_ = 0, sequence_ = 0;
    std::time_t cachedSecond_ = 0;
    std::string nowText_;
};

// What the servers used in a window: CPU per process group, the hub's per thread.
struct ServerCpu {
    double serverCores = 0;   // the hub, or nginx master + workers
    double databaseCores = 0; // postgres and its backends
    double otherCores = 0;    // the rest: kernel threads (writeback, softirq), other processes
    double idleCores = 0;
    std::vector<std::pair<std::string, double>> hubThreads; // name (tid), cores; busiest first
};

struct Watch {
    pid_t server = -1;
    bool serverIsHub = false;
    pid_t database = -1; // postmaster
};

struct CpuMark {
    std::map<pid_t, StatLine> threads;
    long serverTicks = 0, databaseTicks = 0, benchTicks = 0;
    long machineBusy = 0, machineIdle = 0; // all CPUs, from /proc/stat
    Clock::time_point at;
};

// Busy and idle (+ iowait) ticks of the whole machine.
std::pair<long, long> machineTicks()
{
    std::ifstream in("/proc/stat");
    std::string cpu;
    long v[8] = {0, 0, 0, 0, 0, 0, 0, 0}; // user nice system idle iowait irq softirq steal
    in >> cpu;
    for (long &x : v)
        in >> x;
    return {v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[3] + v[4]};
}

CpuMark mark(const Watch &w)
{
    CpuMark m;
    m.at = Clock::now();
    if (w.serverIsHub) m.threads = threadTicks(w.server);
    m.serverTicks = treeTicks(w.server);
    m.databaseTicks = treeTicks(w.database);
    if (auto self = readStat("/proc/self/stat")) m.benchTicks = self->ticks;
    std::tie(m.machineBusy, m.machineIdle) = machineTicks();
    return m;
}

ServerCpu between(const CpuMark &a, const CpuMark &b, pid_t hubPid)
{
    ServerCpu out;
    const double s = duration<double>(b.at - a.at).count();
    out.serverCores = double(b.serverTicks - a.serverTicks) / kTicks / s;
    out.databaseCores = double(b.databaseTicks - a.databaseTicks) / kTicks / s;
    out.otherCores = double((b.machineBusy - a.machineBusy) - (b.serverTicks - a.serverTicks) -
                            (b.databaseTicks - a.databaseTicks) - (b.benchTicks - a.benchTicks)) /
                     kTicks / s;
    out.idleCores = double(b.machineIdle - a.machineIdle) / kTicks / s;
    for (const auto &[tid, st] : b.threads) {
        const auto it = a.threads.find(tid);
        const long d = st.ticks - (it == a.threads.end() ? 0 : it->second.ticks);
        if (d > 0)
            out.hubThreads.emplace_back(st.comm + (tid == hubPid ? "/main" : "") + " " +
                                            std::to_string(tid),
                                        double(d) / kTicks / s);
    }
    std::sort(out.hubThreads.begin(), out.hubThreads.end(),
              [](auto &x, auto &y) { return x.second > y.second; });
    return out;
}

struct Measured {
    LoadResult load;
    ServerCpu cpu;
    long rssPeakKiB = 0; // the server's VmRSS polled every 100 ms during the run
    long rssSamples = 0;
};

Measured runLoad(LoadSpec spec, const Watch &watch)
{
    static int runs = 0;
    spec.runId = ++runs;
    Shared shared(spec.threads);
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < spec.threads; ++i)
        workers.push_back(std::make_unique<Worker>(spec, i, shared));
    std::vector<std::thread> threads;
    for (auto &w : workers)
        threads.emplace_back([&w] { w->run(); });
    shared.ready.wait();
    std::optional<RssSampler> sampler;
    if (watch.serverIsHub) sampler.emplace(watch.server);
    const auto t0 = Clock::now() + std::chrono::milliseconds(20);
    shared.t0 = t0.time_since_epoch().count();
    shared.go.count_down();
    Measured m;
    if (spec.mode != LoadSpec::Mode::Register) {
        const auto ws =
            t0 + std::chrono::duration_cast<Clock::duration>(duration<double>(spec.warmupS));
        sleepUntil(ws);
        const CpuMark a = mark(watch);
        sleepUntil(ws +
                   std::chrono::duration_cast<Clock::duration>(duration<double>(spec.durationS)));
        const CpuMark b = mark(watch);
        m.cpu = between(a, b, watch.server);
    }
    for (auto &t : threads)
        t.join();
    if (sampler) {
        m.rssPeakKiB = sampler->peakKiB();
        m.rssSamples = sampler->samples();
        sampler.reset();
    }
    for (auto &w : workers)
        m.load.merge(std::move(w->result));
    return m;
}

// ---- printing ----------------------------------------------------------------------------

double pct(std::vector<std::uint32_t> &v, double p)
{
    if (v.empty()) return NAN;
    const std::size_t k = std::min(
        v.size() - 1, std::size_t(std::ceil(p / 100.0 * double(v.size()))) - (p > 0 ? 1 : 0));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return double(v[k]) / 1000.0; // ms
}

double maxOf(const std::vector<std::uint32_t> &v)
{
    return v.empty() ? NAN : double(*std::max_element(v.begin(), v.end())) / 1000.0;
}

__attribute__((format(printf, 1, 2))) std::string fmt(const char *f, ...)
{
    char buf[256];
    std::va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

std::string num(double v, int decimals = 0)
{
    if (std::isnan(v)) return "-";
    return fmt("%.*f", decimals, v);
}

// Rows of a side-by-side table; columns are the servers.
class Table {
public:
    explicit Table(std::vector<std::string> heads) : heads_(std::move(heads)) {}
    void row(std::string label, std::vector<std::string> cells)
    {
        rows_.push_back({std::move(label), std::move(cells)});
    }
    void print() const
    {
        std::printf("    %-34s", "");
        for (const auto &h : heads_)
            std::printf("%14s", h.c_str());
        std::printf("\n");
        for (const auto &[label, cells] : rows_) {
            std::printf("    %-34s", label.c_str());
            for (const auto &c : cells)
                std::printf("%14s", c.c_str());
            std::printf("\n");
        }
    }

private:
    std::vector<std::string> heads_;
    std::vector<std::pair<std::string, std::vector<std::string>>> rows_;
};

// The rows every load mode prints, for each measured server.
void loadRows(Table &t, std::vector<Measured *> ms, bool open, bool ratio)
{
    auto cells = [&](auto f) {
        std::vector<std::string> out;
        for (auto *m : ms)
            out.push_back(f(*m));
        return out;
    };
    auto withRatio = [&](std::vector<std::string> v, double a, double b) {
        if (ratio) v.push_back(b > 0 ? num(a / b, 2) : "-");
        return v;
    };
    const auto rate = [](const Measured &m, std::uint64_t n) { return double(n) / m.load.windowS; };
    if (open) {
        t.row("offered requests/s",
              withRatio(cells([&](Measured &m) { return num(rate(m, m.load.offered)); }), 0, 0));
        t.row("sent requests/s",
              withRatio(cells([&](Measured &m) {
                            return num(
                                rate(m, m.load.offered - m.load.unsentAtCap - m.load.unsentLate));
                        }),
                        0, 0));
    }
    t.row("answers/s",
          withRatio(cells([&](Measured &m) { return num(rate(m, m.load.answered())); }),
                    rate(*ms[0], ms[0]->load.answered()),
                    ms.size() > 1 ? rate(*ms[1], ms[1]->load.answered()) : 0));
    t.row("2xx/s", withRatio(cells([&](Measured &m) { return num(rate(m, m.load.ok)); }),
                             rate(*ms[0], ms[0]->load.ok),
                             ms.size() > 1 ? rate(*ms[1], ms[1]->load.ok) : 0));
    t.row("  heartbeats 2xx/s",
          withRatio(cells([&](Measured &m) { return num(rate(m, m.load.okStatus)); }), 0, 0));
    t.row("  plays batches 2xx/s",
          withRatio(cells([&](Measured &m) { return num(rate(m, m.load.okPlays)); }), 0, 0));
    for (double p : {50.0, 90.0, 99.0})
        t.row(fmt("2xx latency p%.0f ms", p),
              withRatio(cells([&](Measured &m) { return num(pct(m.load.latOk, p), 2); }), 0, 0));
    t.row("2xx latency max ms",
          withRatio(cells([&](Measured &m) { return num(maxOf(m.load.latOk), 1); }), 0, 0));
    t.row("503 (with Retry-After)", withRatio(cells([&](Measured &m) {
                                                  return fmt("%" PRIu64 " (%" PRIu64 ")",
                                                             m.load.s503, m.load.s503Retry);
                                              }),
                                              0, 0));
    t.row("other 4xx / 5xx", withRatio(cells([&](Measured &m) {
                                           return fmt("%" PRIu64 " / %" PRIu64, m.load.s4xx,
                                                      m.load.s5xx + m.load.sOther);
                                       }),
                                       0, 0));
    t.row("no answer: closed/refused/timeout",
          withRatio(cells([&](Measured &m) {
                        return fmt("%" PRIu64 "/%" PRIu64 "/%" PRIu64,
                                   m.load.closedNoAnswer + m.load.badResponse, m.load.connectFailed,
                                   m.load.timeouts);
                    }),
                    0, 0));
    if (open) {
        t.row("not sent: generator at cap / late", withRatio(cells([&](Measured &m) {
                                                                 return fmt("%" PRIu64 "/%" PRIu64,
                                                                            m.load.unsentAtCap,
                                                                            m.load.unsentLate);
                                                             }),
                                                             0, 0));
        t.row("generator dispatch lag p99/max ms",
              withRatio(cells([&](Measured &m) {
                            return num(pct(m.load.lag, 99), 2) + "/" + num(maxOf(m.load.lag), 1);
                        }),
                        0, 0));
        t.row("connections opened / peak open",
              withRatio(cells([&](Measured &m) {
                            return fmt("%" PRIu64 "/%d", m.load.connects, m.load.peakConnections);
                        }),
                        0, 0));
    }
    t.row("CPU cores: server",
          withRatio(cells([&](Measured &m) { return num(m.cpu.serverCores, 2); }), 0, 0));
    t.row("CPU cores: database",
          withRatio(cells([&](Measured &m) { return num(m.cpu.databaseCores, 2); }), 0, 0));
    t.row("CPU cores: generator",
          withRatio(cells([&](Measured &m) { return num(m.load.genCpuS / m.load.windowS, 2); }), 0,
                    0));
    t.row("CPU cores: rest (kernel, other procs)",
          withRatio(cells([&](Measured &m) { return num(m.cpu.otherCores, 2); }), 0, 0));
    t.row("CPU cores: idle",
          withRatio(cells([&](Measured &m) { return num(m.cpu.idleCores, 2); }), 0, 0));
    t.row("generator CPU us/request",
          withRatio(cells([&](Measured &m) {
                        const auto n = m.load.answered() + m.load.failed();
                        return n ? num(m.load.genCpuS * 1e6 / double(n), 1) : std::string("-");
                    }),
                    0, 0));
    t.row("server RSS peak MiB (100 ms polls)",
          withRatio(cells([&](Measured &m) {
                        return m.rssSamples ? num(double(m.rssPeakKiB) / 1024.0, 1)
                                            : std::string("-");
                    }),
                    0, 0));
}

void printHubThreads(const Measured &m)
{
    std::string line;
    int shown = 0;
    for (const auto &[name, cores] : m.cpu.hubThreads) {
        if (shown++ == 6) break;
        line += fmt("%s%s %.2f", line.empty() ? "" : ", ", name.c_str(), cores);
    }
    std::printf("    hub threads (name tid cores): %s\n", line.c_str());
    if (!m.load.firstUnexpected.empty()) {
        std::string s = m.load.firstUnexpected;
        std::replace(s.begin(), s.end(), '\r', ' ');
        std::replace(s.begin(), s.end(), '\n', ' ');
        std::printf("    first unexpected answer: %s\n", s.substr(0, 300).c_str());
    }
}

std::string loadAvg()
{
    double l[3] = {0, 0, 0};
    if (::getloadavg(l, 3) < 0) return "?";
    return fmt("%.2f %.2f %.2f", l[0], l[1], l[2]);
}

// ---- one backend ---------------------------------------------------------------------------

struct Targets {
    std::string backend;
    double hubOverNginx = NAN;
    double sustainedHeartbeats =
        NAN; // (b): heartbeats 2xx/s when no request failed and p99 < 50 ms, else the achieved
    bool bSustained = false;
    double p99a = NAN, p99b = NAN;
    double spikePeakMiB = NAN;
    std::uint64_t spike503 = 0, spike503Retry = 0, spikeOk = 0, spikeNoAnswer = 0, spikeOther = 0,
                  spikeUnsent = 0;
};

void registerDevices(std::vector<Device> &devices, int from, int to, const Options &o,
                     std::uint16_t port, const std::string &operatorToken)
{
    if (to <= from) return;
    devices.resize(std::size_t(to));
    LoadSpec spec;
    spec.mode = LoadSpec::Mode::Register;
    spec.port = port;
    spec.connections = std::min(o.registerConnections, to - from);
    spec.threads = 1;
    spec.operatorToken = operatorToken;
    spec.registered = &devices;
    spec.registerFrom = from;
    spec.registerTo = to;
    spec.warmupS = 0;
    spec.durationS = 0;
    const Measured m = runLoad(spec, Watch{});
    if (m.load.ok != std::uint64_t(to - from))
        die("registered %" PRIu64 " of %d devices", m.load.ok, to - from);
    std::printf("    registered devices %d..%d through POST /api/v1/devices (%d connections): %.1f "
                "s, %.0f/s\n",
                from, to - 1, spec.connections, m.load.elapsedS,
                double(to - from) / m.load.elapsedS);
}

Targets runBackend(const std::string &backend, const Options &o, const fs::path &work, Nginx *nginx)
{
    Targets targets;
    targets.backend = backend;
    std::optional<stoa::hub::test::PostgresServer> pg;
    std::string url;
    pid_t postmaster = -1;
    if (backend == "postgres") {
        if (!stoa::hub::test::PostgresServer::available())
            die("PostgreSQL: %s", stoa::hub::test::PostgresServer::unavailableReason().c_str());
        auto s = stoa::hub::test::PostgresServer::start();
        if (!s) die("PostgreSQL: %s", s.error().c_str());
        pg.emplace(std::move(*s));
        url = pg->url();
        postmaster = pid_t(
            std::atol(readFile(fs::path(pg->directory()) / "data" / "postmaster.pid").c_str()));
    }
    const fs::path dataDir = work / ("hub-" + backend);
    fs::create_directories(dataDir);
    Hub hub(o.hubBin, dataDir, url, o.hubArgs, work / ("hub-" + backend + ".log"));
    hub.start();
    std::string cmd;
    for (const auto &a : hub.serveArgs())
        cmd += (cmd.empty() ? "" : " ") + a;
    std::printf("\n== %s: %s (port %u, pid %d)%s%s\n",
                backend == "sqlite" ? "SQLite" : "PostgreSQL", cmd.c_str(), hub.port(), hub.pid(),
                pg ? ", postgres " : "",
                pg ? fmt("%s (postmaster pid %d)", url.c_str(), postmaster).c_str() : "");
    std::printf("    load average %s; hub RSS at start %.1f MiB\n", loadAvg().c_str(),
                double(procStatusKiB(hub.pid(), "VmRSS")) / 1024.0);
    const std::string op = hub.addOperator();
    std::vector<Device> devices;
    registerDevices(devices, 0, o.connections, o, hub.port(), op);

    const Watch hubWatch{hub.pid(), true, postmaster};
    const Watch nginxWatch{nginx ? nginx->pid() : -1, false, -1};
    auto spec = [&](LoadSpec::Mode mode, std::uint16_t port) {
        LoadSpec s;
        s.mode = mode;
        s.port = port;
        s.connections = o.connections;
        s.maxConnections = o.connections;
        s.warmupS = o.warmupS;
        s.durationS = o.durationS;
        s.timeoutS = o.timeoutS;
        s.mix = o.mix;
        s.playsPerBatch = o.playsPerBatch;
        s.devices = &devices;
        s.deviceCount = o.connections;
        s.threads = o.threads;
        return s;
    };
    const double mixFactor = o.mix > 0 ? 1.0 + 1.0 / o.mix : 1.0;
    std::vector<std::string> heads = {"stoa-hub"};
    if (nginx) heads.insert(heads.end(), {"nginx", "hub/nginx"});

    double closedOkRate = NAN;
    if (o.only.find('a') != std::string::npos) {
        std::printf("(a) closed loop: %d connections (one device each), %.0f s (+%.0f s warm-up), "
                    "heartbeats:plays "
                    "%d:1, %d records a batch; load average %s\n",
                    o.connections, o.durationS, o.warmupS, o.mix, o.playsPerBatch,
                    loadAvg().c_str());
        Measured h = runLoad(spec(LoadSpec::Mode::Closed, hub.port()), hubWatch);
        hub.checkAlive();
        std::optional<Measured> n;
        if (nginx) n = runLoad(spec(LoadSpec::Mode::Closed, nginx->port()), nginxWatch);
        std::printf("    mean request body %.0f bytes (heartbeat ~%s, plays batch ~%s)\n",
                    double(h.load.requestBytes) /
                        double(std::max<std::uint64_t>(1, h.load.requests)),
                    "1 KB", fmt("%d records", o.playsPerBatch).c_str());
        Table t(heads);
        std::vector<Measured *> ms = {&h};
        if (n) ms.push_back(&*n);
        loadRows(t, ms, false, bool(n));
        t.print();
        printHubThreads(h);
        closedOkRate = double(h.load.ok) / h.load.windowS;
        if (n)
            targets.hubOverNginx =
                double(h.load.answered()) / double(std::max<std::uint64_t>(1, n->load.answered()));
        targets.p99a = pct(h.load.latOk, 99);
    }

    if (o.only.find('b') != std::string::npos) {
        const double total = o.rate * mixFactor;
        std::printf("(b) open loop: %.0f heartbeats/s + %.0f plays batches/s offered (%.0f "
                    "requests/s), up to %d "
                    "connections, %.0f s (+%.0f s warm-up); latency from when each request was "
                    "due; load average %s\n",
                    o.rate, total - o.rate, total, o.connections, o.durationS, o.warmupS,
                    loadAvg().c_str());
        auto s = spec(LoadSpec::Mode::Open, hub.port());
        s.rate = total;
        Measured h = runLoad(s, hubWatch);
        hub.checkAlive();
        std::optional<Measured> n;
        if (nginx) {
            s.port = nginx->port();
            n = runLoad(s, nginxWatch);
        }
        Table t(heads);
        std::vector<Measured *> ms = {&h};
        if (n) ms.push_back(&*n);
        loadRows(t, ms, true, bool(n));
        t.print();
        printHubThreads(h);
        targets.sustainedHeartbeats = double(h.load.okStatus) / h.load.windowS;
        targets.p99b = pct(h.load.latOk, 99);
        targets.bSustained = h.load.failed() == 0 && h.load.s503 == 0 && h.load.unsentAtCap == 0 &&
                             h.load.unsentLate == 0 &&
                             double(h.load.ok) >= 0.99 * double(h.load.offered);
    }

    if (o.only.find('d') != std::string::npos) {
        std::printf("(d) RSS with %d registered devices; load average %s\n", o.largeDevices,
                    loadAvg().c_str());
        const long before = procStatusKiB(hub.pid(), "VmRSS");
        registerDevices(devices, o.connections, o.largeDevices, o, hub.port(), op);
        std::this_thread::sleep_for(std::chrono::seconds(3));
        const long idle = procStatusKiB(hub.pid(), "VmRSS");
        hub.restart();
        std::this_thread::sleep_for(std::chrono::seconds(3));
        const long fresh = procStatusKiB(hub.pid(), "VmRSS");
        std::printf("    hub VmRSS: %.1f MiB before registering, %.1f MiB idle after (3 s), %.1f "
                    "MiB idle in a freshly "
                    "restarted hub (pid %d)\n",
                    double(before) / 1024.0, double(idle) / 1024.0, double(fresh) / 1024.0,
                    hub.pid());
        auto s = spec(LoadSpec::Mode::Closed, hub.port());
        s.deviceCount = o.largeDevices;
        s.rotate = true;
        std::printf("    (a) again, each connection's requests from a new device each time (all %d "
                    "in turn):\n",
                    o.largeDevices);
        const Watch w{hub.pid(), true, postmaster};
        Measured h = runLoad(s, w);
        hub.checkAlive();
        Table t({"stoa-hub"});
        loadRows(t, {&h}, false, false);
        t.print();
        printHubThreads(h);
        std::printf("    hub VmHWM since the restart %.1f MiB\n",
                    double(procStatusKiB(hub.pid(), "VmHWM")) / 1024.0);
    }

    if (o.only.find('c') != std::string::npos) {
        double rate = o.spikeRate;
        if (rate <= 0) {
            if (std::isnan(closedOkRate)) die("--only without 'a' needs --spike-rate");
            rate = o.spikeFactor * closedOkRate;
        }
        hub.restart();
        std::this_thread::sleep_for(std::chrono::seconds(2));
        const long fresh = procStatusKiB(hub.pid(), "VmRSS");
        std::printf(
            "(c) spike: %.0f requests/s offered (%s) for %.0f s on a freshly started hub (VmRSS "
            "%.1f MiB), "
            "connections growing from %d up to %d; load average %s\n",
            rate,
            o.spikeRate > 0 ? "--spike-rate" : fmt("%.0fx (a)'s 2xx/s", o.spikeFactor).c_str(),
            o.spikeS, double(fresh) / 1024.0, o.connections, o.spikeConnections, loadAvg().c_str());
        auto s = spec(LoadSpec::Mode::Open, hub.port());
        s.rate = rate;
        s.durationS = o.spikeS;
        s.warmupS = 0;
        s.maxConnections = o.spikeConnections;
        s.deviceCount = int(devices.size());
        const Watch w{hub.pid(), true, postmaster};
        Measured h = runLoad(s, w);
        hub.checkAlive();
        Table t({"stoa-hub"});
        loadRows(t, {&h}, true, false);
        t.print();
        printHubThreads(h);
        const long hwm = procStatusKiB(hub.pid(), "VmHWM");
        std::printf("    hub VmHWM %.1f MiB (process lifetime: start-up + the spike); largest "
                    "VmRSS of %ld polls %.1f MiB\n",
                    double(hwm) / 1024.0, h.rssSamples, double(h.rssPeakKiB) / 1024.0);
        if (auto page = httpOnce(hub.port(), "GET", "/metrics"); page && page->status == 200)
            std::printf("    hub /metrics after: shed past the soft connection limit %.0f, refused "
                        "by the full ingest "
                        "queue %.0f, ingest queue depth now %.0f\n",
                        metricValue(page->body, "stoa_hub_http_shed_total"),
                        metricValue(page->body, "stoa_hub_ingest_refused_total"),
                        metricValue(page->body, "stoa_hub_ingest_queue_depth"));
        targets.spikePeakMiB = double(std::max(hwm, h.rssPeakKiB)) / 1024.0;
        targets.spike503 = h.load.s503;
        targets.spike503Retry = h.load.s503Retry;
        targets.spikeOk = h.load.ok;
        targets.spikeNoAnswer = h.load.failed();
        targets.spikeOther = h.load.s4xx + h.load.s5xx + h.load.sOther;
        targets.spikeUnsent = h.load.unsentAtCap + h.load.unsentLate;
    }
    hub.stop();
    return targets;
}

const char *verdict(bool met)
{
    return met ? "met" : "NOT met";
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    auto value = [&](int &i) -> std::string {
        if (i + 1 >= argc) {
            usage();
            std::exit(2);
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--connections")
            o.connections = std::stoi(value(i));
        else if (a == "--duration")
            o.durationS = std::stod(value(i));
        else if (a == "--warmup")
            o.warmupS = std::stod(value(i));
        else if (a == "--rate")
            o.rate = std::stod(value(i));
        else if (a == "--mix")
            o.mix = std::stoi(value(i));
        else if (a == "--plays-per-batch")
            o.playsPerBatch = std::stoi(value(i));
        else if (a == "--spike")
            o.spikeS = std::stod(value(i));
        else if (a == "--spike-factor")
            o.spikeFactor = std::stod(value(i));
        else if (a == "--spike-rate")
            o.spikeRate = std::stod(value(i));
        else if (a == "--spike-connections")
            o.spikeConnections = std::stoi(value(i));
        else if (a == "--devices-large")
            o.largeDevices = std::stoi(value(i));
        else if (a == "--register-connections")
            o.registerConnections = std::stoi(value(i));
        else if (a == "--threads")
            o.threads = std::stoi(value(i));
        else if (a == "--timeout")
            o.timeoutS = std::stod(value(i));
        else if (a == "--only")
            o.only = value(i);
        else if (a == "--backends") {
            o.backends.clear();
            std::stringstream s(value(i));
            for (std::string b; std::getline(s, b, ',');)
                if (b == "sqlite" || b == "postgres")
                    o.backends.push_back(b);
                else
                    die("--backends: sqlite and/or postgres, not %s", b.c_str());
        } else if (a == "--no-nginx")
            o.nginx = false;
        else if (a == "--hub")
            o.hubBin = value(i);
        else if (a == "--nginx")
            o.nginxBin = value(i);
        else if (a == "--hub-arg")
            o.hubArgs.push_back(value(i));
        else if (a == "--work")
            o.work = value(i);
        else if (a == "--keep")
            o.keep = true;
        else {
            usage();
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (o.connections < 1 || o.threads < 1 || o.durationS <= 0 || o.playsPerBatch < 1 || o.mix < 0)
        die("bad options");
    o.largeDevices = std::max(o.largeDevices, o.connections);
    o.spikeConnections = std::max(o.spikeConnections, o.connections);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);

    // Thousands of sockets here and in the children (they inherit the limit).
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    const rlim_t need = rlim_t(std::max(o.spikeConnections, o.connections) + 64);
    if (rl.rlim_cur < need)
        die("the open-files limit is %llu; %llu needed (ulimit -n, or lower --spike-connections)",
            static_cast<unsigned long long>(rl.rlim_cur), static_cast<unsigned long long>(need));
    ::signal(SIGPIPE, SIG_IGN);
    if (::access(o.hubBin.c_str(), X_OK) != 0)
        die("no stoa-hub at %s (build the stoa-hub target, or --hub PATH)", o.hubBin.c_str());

    fs::path work;
    std::string tmpl;
    if (o.work.empty()) {
        tmpl = (fs::temp_directory_path() / "hub-ingest-bench-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) die("mkdtemp: %s", std::strerror(errno));
        work = tmpl;
    } else {
        work = o.work;
        fs::create_directories(work);
    }
    ::chmod(work.c_str(), 0755);

    std::printf("hub_ingest_bench: %s vs nginx (%s) on loopback; %d generator thread(s), %d "
                "connections, open-files "
                "limit %llu; work dir %s\n",
                o.hubBin.c_str(), o.nginx ? o.nginxBin.c_str() : "off", o.threads, o.connections,
                static_cast<unsigned long long>(rl.rlim_cur), work.c_str());
    std::printf("machine: %ld CPUs online; load average %s\n", ::sysconf(_SC_NPROCESSORS_ONLN),
                loadAvg().c_str());

    std::unique_ptr<Nginx> nginx;
    if (o.nginx &&
        (o.only.find('a') != std::string::npos || o.only.find('b') != std::string::npos)) {
        if (::access(o.nginxBin.c_str(), X_OK) != 0)
            die("no nginx at %s (apt install nginx, or --no-nginx)", o.nginxBin.c_str());
        nginx = std::make_unique<Nginx>(o.nginxBin, work / "nginx");
        std::printf("nginx: pid %d, port %u, worker_processes 2, `return 204;` for /v1/ and /api/, "
                    "access_log off, "
                    "keep-alive\n",
                    nginx->pid(), nginx->port());
    }

    std::vector<Targets> all;
    for (const auto &b : o.backends)
        all.push_back(runBackend(b, o, work, nginx.get()));
    nginx.reset();

    std::printf("\ntargets (reported, not asserted):\n");
    for (const auto &t : all) {
        const char *name = t.backend == "sqlite" ? "SQLite" : "PostgreSQL";
        if (!std::isnan(t.hubOverNginx))
            std::printf("  %-10s hub >= 0.5x nginx's request rate (a): %.2fx  %s\n", name,
                        t.hubOverNginx, verdict(t.hubOverNginx >= 0.5));
        if (!std::isnan(t.sustainedHeartbeats))
            std::printf(
                "  %-10s >= 5,000 heartbeats/s sustained (b, offered %.0f/s): %.0f/s 2xx, %s  %s\n",
                name, o.rate, t.sustainedHeartbeats,
                t.bSustained ? "every request answered 2xx, none late"
                             : "NOT every request answered 2xx in time",
                o.rate < 5000 ? "not tested (--rate below 5000)"
                              : verdict(t.bSustained && t.sustainedHeartbeats >= 5000 * 0.99));
        if (!std::isnan(t.p99b))
            std::printf("  %-10s p99 < 50 ms at the offered rate (b): %.1f ms  %s\n", name, t.p99b,
                        verdict(t.p99b < 50));
        if (!std::isnan(t.p99a))
            std::printf("  %-10s p99 < 50 ms in the closed loop (a), %d connections: %.1f ms  %s "
                        "(Little: latency = "
                        "connections / rate)\n",
                        name, o.connections, t.p99a, verdict(t.p99a < 50));
        if (!std::isnan(t.spikePeakMiB)) {
            std::printf("  %-10s spike: peak RSS %.1f MiB (< 256 MB = 244 MiB: %s); %" PRIu64
                        " 2xx, %" PRIu64 " 503 (%" PRIu64 " with Retry-After), %" PRIu64
                        " other errors, %" PRIu64 " without an answer, %" PRIu64
                        " not sent (generator at its cap or late);\n             every request "
                        "sent and not 2xx answered 503 + Retry-After: %s\n",
                        name, t.spikePeakMiB, verdict(t.spikePeakMiB * 1024 * 1024 < 256e6),
                        t.spikeOk, t.spike503, t.spike503Retry, t.spikeOther, t.spikeNoAnswer,
                        t.spikeUnsent,
                        verdict(t.spike503 > 0 && t.spike503Retry == t.spike503 &&
                                t.spikeNoAnswer == 0 && t.spikeOther == 0));
        }
    }
    if (!o.keep && o.work.empty())
        fs::remove_all(work);
    else
        std::printf("work dir kept: %s\n", work.c_str());
    return 0;
}
