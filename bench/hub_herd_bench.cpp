// bench/hub_herd_bench.cpp — does a fleet come back from a hub outage as a
// herd, against the real hub? (issue 16, "Herd")
//
// herd_bench answers the question in pure virtual time with a backend that
// is a boolean. This one runs the agent's real retry timing
// (stoa::sync::Pacer, the policy of sync/config.h: base 5 s, cap 15 min,
// full-jitter ceiling at 2 steady intervals since issue 18) for
// N virtual devices whose polls are real HTTP requests to a real
// `stoa-hub serve` over loopback, and takes the hub down for 30 minutes:
//  - kill: SIGKILL, then `serve` again on the same data directory and port
//    (a crashed backend: connections reset, then refused);
//  - stop: SIGSTOP, then SIGCONT (a hung backend: connections accepted by
//    the kernel up to the backlog, never answered; the devices time out).
//
// Time is scaled: the bench's clock runs K times faster than real time (one
// virtual second is 1/K real second). Each device's Pacer is fed virtual
// milliseconds and its waits are slept in real time divided by K, so the
// 30-minute outage lasts 30·60/K real seconds. The price: the hub sees K
// times the request rate of a real fleet of that size, and every real
// latency of the hub counts K times as long in virtual time (the device's
// timeouts are scaled too: connect 15 s, low-speed abort 30 s, virtual).
//
// A poll is what the agent does (sync/agent.cpp, handleManifest): GET
// /v1/keys.json (404: no keys document), GET /v1/devices/ID/manifest.json
// (404: no schedule of its own), GET /v1/manifest.json with If-None-Match
// (304), in sequence on one keep-alive connection, with the device's bearer
// token. The poll succeeds when all three are answered as the agent accepts
// them; a transport error, a timeout or another status fails it (Retry-After
// on 429/503 is passed to the Pacer). The next poll is due a Pacer wait
// after the poll ended. Devices start in steady state: content on screen,
// the manifest's ETag known, phases drawn as a long-running fleet's would
// be (with the Pacer's ±10 %, the renewal process's forward recurrence
// time; uniform phases would crowd the end of the first round by +50 %).
// The fleet schedule is published with `sync-interval = --interval-s`, so
// the manifest says what the devices do.
//
// Policies side by side (same fleet, same seed), as in herd_bench:
//  - pacer: sync::Pacer (full jitter up to 2 intervals, ±10 % steady jitter);
//  - pacer-before: the same with the ceiling at the cap (capIntervals = 0),
//    the policy before issue 18;
//  - naive: retry every `base` on failure, poll every `interval` exactly;
//  - exp: retry after min(cap, base·2^n) without jitter, poll every `interval`.
// Scenarios: A, the devices keep running through the outage; B, the whole
// fleet also restarts when the outage begins (boots spread over 1 s; first
// attempt at boot + Pacer::initialDelay, the others at boot).
//
// The client: one thread, epoll, non-blocking sockets, a pool of at most
// --connections keep-alive HTTP/1.1 connections shared by the devices (one
// request in flight per connection, a poll keeps its connection for its
// three requests; a request that dies on a reused connection before any
// answer byte is sent once more on a fresh one, as libcurl does). Polls
// that find no free connection wait in a FIFO, and give up like a connect
// timeout after the device's connect timeout (a real device has a socket of
// its own and would not queue); how late polls start (due → first byte
// written) and the generator thread's CPU are printed, so a saturated
// generator shows. /healthz is asked every --healthz-ms from its own thread
// and connection (timeout --healthz-timeout-ms, real time).
//
// What scaling time distorts, and how the figures deal with it:
//  - a stall of the hub of x ms real bunches the requests queued behind it
//    into K·x ms of virtual time: the per-virtual-second count of HTTP
//    requests written carries that noise; the count of polls due (the
//    Pacer's own timing, the fleet's demand) does not, and is printed too;
//  - a backlog waiting for the hub when it comes back (SIGSTOP: the listen
//    queue, requests in flight) is a number of requests, not a rate: the
//    hub drains it at its real speed, so in virtual time it is spread K
//    times thinner than a real fleet would see it. It is counted and
//    printed against the steady rate of a real fleet ("backlog");
//  - the kernel's SYN retransmissions run in real time while the devices'
//    connect timeout is scaled: connects pending when a stopped hub resumes
//    mostly time out in the bench where a real device would get through.
//  - policies without jitter demand far more than the hub or one generator
//    thread can serve at K times the rate: their figures are lower bounds
//    (see the generator's CPU and lag).
//
// Figures per run (virtual = in the fleet's time, per virtual second;
// real = what the hub saw, per real second):
//  - steady: mean and peak requests per virtual second in the window before
//    the outage, and the real rate;
//  - recovery: the busiest virtual second (and 10 s) after the hub is back,
//    over the steady mean (target ≤ 2.0), for HTTP requests written and for
//    polls due; the busiest real second; the backlog at recovery;
//    (peaks are the busiest window of that length, sliding; the steady
//    window's own peak/mean is the noise floor: ~1.6-1.7 for 33 polls/s);
//  - how long after recovery (virtual) until 50 / 90 / 99 % / all devices had a
//    successful poll;
//  - /healthz during the recovery: non-200, timeouts, latency p50/p99/max;
//  - the hub's answers, latency, CPU, RSS, /metrics counters; the generator's.
//
// Usage: hub_herd_bench --help
#include "child_process.h"
#include "http_pool.h"
#include "process_probe.h"
#include "sync/backoff.h"

#include <QDateTime>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

using stoa::sync::BackoffPolicy;
using stoa::sync::Millis;
using stoa::sync::Pacer;
using stoa::endpoints::testing::cpuTicks;
using stoa::endpoints::testing::procStatusKiB;

namespace {

namespace fs = std::filesystem;

// The HTTP client (a bounded pool of keep-alive connections), shared with
// fleet_rehearsal.
using stoa::bench::Fail;
using stoa::bench::failName;
using stoa::bench::fileSize;
using stoa::bench::httpRequest;
using stoa::bench::monoNs;
using stoa::bench::oneRequest;
using stoa::bench::Pool;
using stoa::bench::readFile;
using stoa::bench::reap;
using stoa::bench::Result;
using stoa::bench::spawn;

double threadCpuS()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double loadAverage()
{
    std::ifstream f("/proc/loadavg");
    double l = -1;
    f >> l;
    return l;
}

// utime + stime of a process, seconds; -1 when gone.
double processCpuS(pid_t pid)
{
    const qint64 ticks = cpuTicks(pid);
    return ticks < 0 ? -1 : double(ticks) / double(sysconf(_SC_CLK_TCK));
}

// ---------------------------------------------------------------------------
// The hub process.

struct HubProcess {
    pid_t pid = -1;
    std::string log;
};

// The port once the log says `serving http://127.0.0.1:PORT` after `from`; 0: not yet.
int servingPort(const std::string &logPath, std::size_t from)
{
    const std::string s = readFile(logPath, from);
    const auto at = s.find("serving http://127.0.0.1:");
    if (at == std::string::npos)
        return 0;
    return std::atoi(s.c_str() + at + std::strlen("serving http://127.0.0.1:"));
}

std::string runCapture(const std::string &cmd, int &rc)
{
    std::string out;
    FILE *p = ::popen(cmd.c_str(), "r");
    if (!p) {
        rc = -1;
        return out;
    }
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    rc = ::pclose(p);
    return out;
}

// ---------------------------------------------------------------------------
// /healthz from its own thread and connection.

struct HealthSample {
    std::int64_t ns;
    int status;         // HTTP status; 0: no answer (error), -1: timeout
    double latencyMs;
};

class HealthProbe {
public:
    HealthProbe(std::uint16_t port, int everyMs, int timeoutMs) : m_port(port), m_every(everyMs), m_timeout(timeoutMs) {}
    ~HealthProbe() { stop(); }

    void start()
    {
        m_stop = false;
        m_thread = std::thread([this] { run(); });
    }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }
    std::vector<HealthSample> samples()
    {
        std::lock_guard lock(m_mutex);
        return m_samples;
    }

private:
    std::uint16_t m_port;
    int m_every;
    int m_timeout;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
    std::mutex m_mutex;
    std::vector<HealthSample> m_samples;
    int m_fd = -1;

    bool connectNow(std::int64_t deadline)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(m_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1;
        setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0)
            return true;
        if (errno != EINPROGRESS)
            return false;
        pollfd p{m_fd, POLLOUT, 0};
        const int left = int(std::max<std::int64_t>(0, (deadline - monoNs()) / 1'000'000));
        if (::poll(&p, 1, left) <= 0)
            return false;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        return err == 0;
    }

    // status, 0 error, -1 timeout
    int once()
    {
        const std::int64_t deadline = monoNs() + std::int64_t(m_timeout) * 1'000'000;
        for (int attempt = 0; attempt < 2; ++attempt) {
            const bool fresh = m_fd < 0;
            if (fresh && !connectNow(deadline)) {
                const bool timedOut = monoNs() >= deadline;
                ::close(m_fd);
                m_fd = -1;
                return timedOut ? -1 : 0;
            }
            static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hub_herd_bench healthz\r\n\r\n";
            if (::send(m_fd, req, sizeof req - 1, MSG_NOSIGNAL) != ssize_t(sizeof req - 1)) {
                ::close(m_fd);
                m_fd = -1;
                if (!fresh)
                    continue;
                return 0;
            }
            std::string in;
            for (;;) {
                const auto he = in.find("\r\n\r\n");
                if (he != std::string::npos) {
                    const auto cl = in.find("Content-Length:");
                    const auto cl2 = in.find("content-length:");
                    const auto at = cl != std::string::npos ? cl : cl2;
                    const std::size_t len = at != std::string::npos && at < he ? std::size_t(std::atoll(in.c_str() + at + 15)) : 0;
                    if (in.size() >= he + 4 + len) {
                        const int status = std::atoi(in.c_str() + 9);
                        if (in.find("Connection: close") != std::string::npos) {
                            ::close(m_fd);
                            m_fd = -1;
                        }
                        return status;
                    }
                }
                const int left = int((deadline - monoNs()) / 1'000'000);
                if (left <= 0) {
                    ::close(m_fd);
                    m_fd = -1;
                    return -1;
                }
                pollfd p{m_fd, POLLIN, 0};
                if (::poll(&p, 1, left) <= 0)
                    continue;
                char buf[4096];
                const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
                if (n > 0) {
                    in.append(buf, std::size_t(n));
                    continue;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                ::close(m_fd);
                m_fd = -1;
                if (!fresh && in.empty())
                    break; // the kept-alive connection had died: once more on a fresh one
                return 0;
            }
        }
        return 0;
    }

    void run()
    {
        std::int64_t next = monoNs();
        while (!m_stop) {
            const std::int64_t t = monoNs();
            const int status = once();
            const double ms = double(monoNs() - t) / 1e6;
            {
                std::lock_guard lock(m_mutex);
                m_samples.push_back({t, status, ms});
            }
            next += std::int64_t(m_every) * 1'000'000;
            const std::int64_t now = monoNs();
            if (next < now)
                next = now;
            while (!m_stop && monoNs() < next)
                ::usleep(useconds_t(std::min<std::int64_t>(20'000, (next - monoNs()) / 1000 + 1)));
        }
    }
};

// ---------------------------------------------------------------------------
// Options and the fleet.

struct Options {
    std::string hub = STOA_HUB_BIN;
    std::string work;
    int devices = 10000;
    double k = 30;
    int intervalS = 300;
    int baseS = 5;
    int capS = 900;
    int warmMin = 1;
    int steadyMin = 5;
    int outageMin = 30;
    int afterMin = 16;
    int connections = 1000;
    int connectTimeoutS = 15; // virtual: HttpOptions::connectTimeoutS
    int timeoutS = 30;        // virtual: the low-speed abort (256 B/s for 30 s)
    int healthzMs = 200;
    int healthzTimeoutMs = 2000;
    double maxLoad = 1.5;
    int maxWaitS = 900;
    int hubThreads = 0; // 0: the hub's default
    std::uint64_t seed = 42;
    std::string runs = "A-kill:pacer,A-kill:pacer-before,A-kill:naive,A-stop:pacer,B-kill:pacer,B-kill:naive";
};

// PacerBefore: sync::Pacer with capIntervals = 0, the policy before issue 18
// (full-jitter ceiling at the 15-minute cap instead of 2 steady intervals).
enum class Policy { Pacer, PacerBefore, Naive, Exp };

bool isPacer(Policy p) { return p == Policy::Pacer || p == Policy::PacerBefore; }

const char *policyName(Policy p)
{
    switch (p) {
    case Policy::Pacer: return "pacer: ceiling 2 intervals";
    case Policy::PacerBefore: return "pacer, before: ceiling cap";
    case Policy::Naive: return "naive fixed retry";
    case Policy::Exp: return "exponential, no jitter";
    }
    return "";
}

struct RunSpec {
    bool restart = false; // scenario B
    bool kill = true;     // SIGKILL + serve again; else SIGSTOP/SIGCONT
    Policy policy = Policy::Pacer;
    std::string label;
};

struct Fleet {
    std::vector<std::string> ids;
    std::vector<std::string> tokens;
    std::string fleetEtag;
    std::string opToken;
    std::uint16_t port = 0;
};

struct Percentiles {
    std::size_t n = 0;
    double p50 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> v)
{
    Percentiles p;
    p.n = v.size();
    if (v.empty())
        return p;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, std::size_t(std::ceil(q * double(v.size()))) - (q > 0 ? 1 : 0))]; };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.max = v.back();
    return p;
}

std::string fmtPct(const Percentiles &p, const char *unit = "ms")
{
    if (p.n == 0)
        return "no samples";
    char buf[160];
    std::snprintf(buf, sizeof buf, "p50 %.1f / p99 %.1f / max %.1f %s (n=%zu)", p.p50, p.p99, p.max, unit, p.n);
    return buf;
}

struct Summary {
    std::string label;
    double steadyHttpMean = 0;
    int steadyHttpPeak = 0;
    int recoveryHttpPeak = 0;
    double ratio1s = 0;
    double pollRatio = 0; // polls due (demand) per virtual second, recovery peak / steady mean
    double ratio10s = 0;
    double steadyRealMean = 0;
    int recoveryRealPeak = 0;
    double sync50 = -1, sync90 = -1, sync99 = -1, syncAll = -1;
    int healthBad = 0, healthTimeouts = 0;
    std::size_t healthN = 0;
    double healthP50 = 0, healthP99 = 0, healthMax = 0;
    double lagP99 = 0;
    std::uint64_t http5xx = 0;
    double backlog = 0; // requests waiting for the hub when it came back, and their polls' follow-ups
};

// ---------------------------------------------------------------------------
// One run: the fleet through an outage.

class Run {
public:
    Run(const Options &o, const RunSpec &spec, Fleet &fleet, HubProcess &hub, const std::string &dataDir, int runNo)
        : m_o(o), m_spec(spec), m_fleet(fleet), m_hub(hub), m_dataDir(dataDir), m_runNo(runNo),
          m_bp{Millis(std::int64_t(o.baseS) * 1000), Millis(std::int64_t(o.capS) * 1000),
               spec.policy == Policy::PacerBefore ? 0.0 : BackoffPolicy{}.capIntervals},
          m_interval(std::int64_t(o.intervalS) * 1000), m_rng(o.seed ^ 0x9e3779b97f4a7c15ULL),
          m_pool(fleet.port, o.connections)
    {
    }

    Summary go();
    double loadStart = -1;

private:
    const Options &m_o;
    RunSpec m_spec;
    Fleet &m_fleet;
    HubProcess &m_hub;
    std::string m_dataDir;
    int m_runNo;
    BackoffPolicy m_bp;
    Millis m_interval;
    stoa::sync::Backoff::Rng m_rng;
    Pool m_pool;

    struct Device {
        Pacer pacer{Millis(60000), BackoffPolicy{}};
        int failures = 0;
        std::string etag;
        int step = 0;
        std::uint32_t gen = 0;
        std::int64_t dueV = 0;
        bool synced = false;
        bool waitingFirstByte = false;
    };
    std::vector<Device> m_dev;
    struct Due {
        std::int64_t v;
        int dev;
        std::uint32_t gen;
        bool operator>(const Due &o) const { return v > o.v; }
    };
    std::priority_queue<Due, std::vector<Due>, std::greater<>> m_heap;

    std::int64_t m_startNs = 0;
    std::int64_t m_t0V = 0, m_t1V = -1, m_endV = 0;
    std::int64_t m_t0Ns = 0, m_t1Ns = 0, m_restartNs = 0;
    bool m_outage = false, m_restartAsked = false, m_ready = false;
    std::size_t m_logFrom = 0;

    // Counters.
    std::vector<std::int64_t> m_pollDueV; // virtual ms each poll was due
    std::vector<std::int64_t> m_sentNs;   // real ns each HTTP request was written
    std::vector<std::int64_t> m_syncTimes;
    struct Phase {
        std::map<std::string, std::uint64_t> answers;
        std::vector<double> latencyMs;
        std::vector<double> lagMs;
        std::uint64_t polls = 0, pollsOk = 0;
    };
    Phase m_phase[4]; // warm, steady, outage, recovery
    std::int64_t m_lastSampleNs = 0;
    std::map<int, std::uint64_t> m_seenSinceHubStart;
    std::uint64_t m_carriedAnswers = 0, m_carriedSent = 0;
    long m_rssStartKb = -1, m_rssMaxKb = -1, m_rssEndKb = -1, m_rssOutageKb = -1;

    std::int64_t virt(std::int64_t ns) const { return std::int64_t(double(ns - m_startNs) * m_o.k / 1e6); }
    std::int64_t realOf(std::int64_t v) const { return m_startNs + std::int64_t(double(v) * 1e6 / m_o.k); }
    int phaseOfV(std::int64_t v) const
    {
        if (v < std::int64_t(m_o.warmMin) * 60000)
            return 0;
        if (v < m_t0V)
            return 1;
        if (!m_ready || v < m_t1V)
            return 2;
        return 3;
    }


    std::string requestFor(int d, int step) const
    {
        const std::string &id = m_fleet.ids[std::size_t(d)];
        const std::string head = "User-Agent: stoa/bench (" + id + ")\r\n";
        switch (step) {
        case 0: return httpRequest("GET", "/v1/keys.json", m_fleet.tokens[std::size_t(d)], {}, head);
        case 1: return httpRequest("GET", "/v1/devices/" + id + "/manifest.json", m_fleet.tokens[std::size_t(d)], {}, head);
        default: {
            const auto &etag = m_dev[std::size_t(d)].etag;
            return httpRequest("GET", "/v1/manifest.json", m_fleet.tokens[std::size_t(d)], {},
                               head + (etag.empty() ? std::string() : "If-None-Match: " + etag + "\r\n"));
        }
        }
    }

    int ownerOf(int d) const { return d * 4 + int(m_dev[std::size_t(d)].gen & 3u); }

    void startPoll(int d, std::int64_t dueV, std::int64_t nowNs)
    {
        Device &dv = m_dev[std::size_t(d)];
        dv.step = 0;
        dv.dueV = dueV;
        dv.waitingFirstByte = true;
        m_pollDueV.push_back(dueV);
        ++m_phase[phaseOfV(dueV)].polls;
        (void)nowNs;
        m_pool.submit(ownerOf(d), requestFor(d, 0));
    }

    void onSent(int owner, std::int64_t ns)
    {
        const int d = owner / 4;
        Device &dv = m_dev[std::size_t(d)];
        m_sentNs.push_back(ns);
        if (m_ready && ns >= m_t1Ns && dv.dueV < m_t1V && std::uint32_t(owner & 3) == (dv.gen & 3u))
            ++m_carriedSent; // a poll begun before the hub was back goes on
        if (dv.waitingFirstByte && std::uint32_t(owner & 3) == (dv.gen & 3u)) {
            dv.waitingFirstByte = false;
            m_phase[phaseOfV(dv.dueV)].lagMs.push_back(double(ns - realOf(dv.dueV)) / 1e6);
        }
    }

    std::optional<std::string> onDone(int owner, Result &&r)
    {
        const int d = owner / 4;
        Device &dv = m_dev[std::size_t(d)];
        const int ph = phaseOfV(virt(r.doneNs));
        Phase &p = m_phase[ph];
        const std::string key = r.status ? std::to_string(r.status) : std::string(failName(r.fail));
        ++p.answers[key];
        if (r.status)
            ++m_seenSinceHubStart[r.status];
        if (r.status && m_ready && r.startNs < m_t1Ns && r.doneNs >= m_t1Ns)
            ++m_carriedAnswers; // sent while the hub was down, answered once it was back
        if (r.status)
            p.latencyMs.push_back(double(r.doneNs - r.startNs) / 1e6);
        if (std::uint32_t(owner & 3) != (dv.gen & 3u))
            return std::nullopt; // a poll of the device before it restarted (scenario B)
        if (!r.status)
            return endPoll(d, false, std::nullopt);
        if (r.status == 429 || r.status == 503) {
            std::optional<Millis> ra;
            if (!r.retryAfter.empty())
                ra = stoa::sync::parseRetryAfter(r.retryAfter, QDateTime::currentDateTimeUtc());
            return endPoll(d, false, ra);
        }
        switch (dv.step) {
        case 0: // keys.json: optional
            if (r.status == 200 || r.status == 304 || r.status == 404 || r.status == 410 || r.status == 403) {
                dv.step = 1;
                return requestFor(d, 1);
            }
            return endPoll(d, false, std::nullopt);
        case 1: // the device's own manifest; absent → the fleet one
            if (r.status == 404 || r.status == 410 || r.status == 403) {
                dv.step = 2;
                return requestFor(d, 2);
            }
            if (r.status == 200 || r.status == 304)
                return endPoll(d, true, std::nullopt);
            return endPoll(d, false, std::nullopt);
        default:
            if (r.status == 200 && !r.etag.empty())
                dv.etag = r.etag;
            if (r.status == 200 || r.status == 304 || r.status == 404 || r.status == 410)
                return endPoll(d, true, std::nullopt);
            return endPoll(d, false, std::nullopt);
        }
    }

    std::optional<std::string> endPoll(int d, bool ok, std::optional<Millis> retryAfter)
    {
        Device &dv = m_dev[std::size_t(d)];
        const std::int64_t v = virt(monoNs());
        const int ph = phaseOfV(v);
        if (ok) {
            ++m_phase[ph].pollsOk;
            if (ph == 3 && !dv.synced) {
                dv.synced = true;
                m_syncTimes.push_back(v - m_t1V);
            }
        }
        Millis wait{};
        switch (m_spec.policy) {
        case Policy::Pacer:
        case Policy::PacerBefore:
            wait = ok ? dv.pacer.afterSuccess(m_rng) : dv.pacer.afterFailure(m_rng, retryAfter);
            break;
        case Policy::Naive:
            wait = ok ? m_interval : m_bp.base;
            break;
        case Policy::Exp:
            if (ok) {
                dv.failures = 0;
                wait = m_interval;
            } else {
                wait = stoa::sync::Backoff(m_bp, dv.failures).ceiling();
                ++dv.failures;
            }
            break;
        }
        m_heap.push({v + std::max<std::int64_t>(1, wait.count()), d, dv.gen});
        return std::nullopt;
    }

    void startOutage(std::int64_t nowNs)
    {
        m_outage = true;
        m_t0Ns = nowNs;
        m_rssOutageKb = procStatusKiB(m_hub.pid, "VmRSS");
        ::kill(m_hub.pid, m_spec.kill ? SIGKILL : SIGSTOP);
        if (m_spec.kill) {
            m_killStatus = reap(m_hub.pid, 5);
            m_hub.pid = -1;
        }
        if (m_spec.restart) {
            // The whole fleet restarts: phases and backoff state lost,
            // validators kept (the agent stores them).
            std::mt19937_64 boots(m_o.seed + 7);
            std::uniform_int_distribution<std::int64_t> boot(0, 999);
            for (int d = 0; d < int(m_dev.size()); ++d) {
                Device &dv = m_dev[std::size_t(d)];
                ++dv.gen;
                dv.pacer = Pacer(m_interval, m_bp);
                dv.failures = 0;
                dv.waitingFirstByte = false;
                const std::int64_t up = m_t0V + boot(boots);
                m_heap.push({isPacer(m_spec.policy) ? up + dv.pacer.initialDelay(m_rng, true).count() : up, d,
                             dv.gen});
            }
        }
    }
    std::string m_killStatus;
    double m_restartS = 0;

    void askRestart(std::int64_t nowNs)
    {
        m_restartAsked = true;
        m_restartNs = nowNs;
        if (m_spec.kill) {
            m_logFrom = fileSize(m_hub.log);
            std::vector<std::string> args = {m_o.hub, "serve", "--data-dir", m_dataDir, "--listen",
                                             "127.0.0.1:" + std::to_string(m_fleet.port)};
            if (m_o.hubThreads > 0) {
                args.push_back("--threads");
                args.push_back(std::to_string(m_o.hubThreads));
            }
            m_hub.pid = spawn(args, m_hub.log);
        } else {
            ::kill(m_hub.pid, SIGCONT);
            becomeReady(monoNs());
        }
    }

    void becomeReady(std::int64_t nowNs)
    {
        if (m_spec.kill)
            m_seenSinceHubStart.clear(); // a new process: its /metrics start from zero
        m_ready = true;
        m_t1Ns = nowNs;
        m_t1V = virt(nowNs);
        m_endV = m_t1V + std::int64_t(m_o.afterMin) * 60000;
        m_restartS = double(nowNs - m_restartNs) / 1e9;
        m_hubCpuRecovery0 = processCpuS(m_hub.pid);
        m_genCpuRecovery0 = threadCpuS();
        m_genCpuOutage = m_genCpuRecovery0 - m_genCpuSteady1;
        m_rssStartRecoveryKb = procStatusKiB(m_hub.pid, "VmRSS");
    }
    double m_hubCpuSteady0 = 0, m_hubCpuSteady1 = 0, m_hubCpuRecovery0 = 0, m_hubCpuRecovery1 = 0;
    double m_genCpuOutage = 0;
    double m_genCpuSteady0 = 0, m_genCpuSteady1 = 0, m_genCpuRecovery0 = 0, m_genCpuRecovery1 = 0;
    std::int64_t m_steadyNs0 = 0;
    long m_rssStartRecoveryKb = -1;
    bool m_steadyStarted = false;
};

Summary Run::go()
{
    Summary s;
    s.label = m_spec.label;
    m_dev.resize(m_fleet.ids.size());
    // Steady state from the first second: each device's first poll is
    // where a long-running device would be. Without jitter that is uniform
    // over the interval; with the Pacer's ±10 % it is the renewal process's
    // forward recurrence time (a length-biased interval L in [0.9, 1.1]·I,
    // then a uniform point in it) — uniform phases in [0, I) would crowd
    // the end of the first round with the early second polls (+50 % there).
    // The same two draws per device for every policy: the same fleet.
    std::mt19937_64 phases(m_o.seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const double interval = double(m_interval.count());
    const double lo = interval * (1 - Pacer::kSteadyJitter), hi = interval * (1 + Pacer::kSteadyJitter);
    for (int d = 0; d < int(m_dev.size()); ++d) {
        Device &dv = m_dev[std::size_t(d)];
        dv.pacer = Pacer(m_interval, m_bp);
        dv.etag = m_fleet.fleetEtag;
        const double u1 = unit(phases), u2 = unit(phases);
        const double length = isPacer(m_spec.policy) ? std::sqrt(lo * lo + u1 * (hi * hi - lo * lo)) : interval;
        m_heap.push({std::int64_t(u2 * length), d, 0});
    }
    m_pool.connectTimeoutNs = std::int64_t(double(m_o.connectTimeoutS) * 1e9 / m_o.k);
    m_pool.requestTimeoutNs = std::int64_t(double(m_o.timeoutS) * 1e9 / m_o.k);

    const std::int64_t warmV = std::int64_t(m_o.warmMin) * 60000;
    m_t0V = warmV + std::int64_t(m_o.steadyMin) * 60000;
    const std::int64_t outageV = std::int64_t(m_o.outageMin) * 60000;
    m_endV = INT64_MAX;

    // Warm the fresh hub (its database readers, page cache) and the pool
    // before the clock starts: a slow first second would bunch the first
    // polls, and policies without jitter would keep that bunch every round.
    m_pool.done = [this](int, Result &&r) -> std::optional<std::string> {
        if (r.status)
            ++m_seenSinceHubStart[r.status];
        return std::nullopt;
    };
    for (int i = 0; i < 300; ++i) {
        const int d = int((std::uint64_t(i) * 7919u) % m_fleet.ids.size());
        m_pool.submit(i, httpRequest("GET", "/v1/keys.json", m_fleet.tokens[std::size_t(d)], {}));
    }
    m_pool.drain(30);
    m_pool.done = [this](int owner, Result &&r) { return onDone(owner, std::move(r)); };
    m_pool.sent = [this](int owner, std::int64_t ns) { onSent(owner, ns); };
    HealthProbe probe(m_fleet.port, m_o.healthzMs, m_o.healthzTimeoutMs);
    m_rssStartKb = procStatusKiB(m_hub.pid, "VmRSS");
    m_rssMaxKb = m_rssStartKb;
    probe.start();
    m_startNs = monoNs();

    for (;;) {
        const std::int64_t now = monoNs();
        const std::int64_t v = virt(now);
        if (!m_steadyStarted && v >= warmV) {
            m_steadyStarted = true;
            m_steadyNs0 = now;
            m_hubCpuSteady0 = processCpuS(m_hub.pid);
            m_genCpuSteady0 = threadCpuS();
        }
        if (!m_outage && v >= m_t0V) {
            m_hubCpuSteady1 = processCpuS(m_hub.pid);
            m_genCpuSteady1 = threadCpuS();
            startOutage(now);
        }
        if (m_outage && !m_restartAsked && v >= m_t0V + outageV)
            askRestart(now);
        if (m_restartAsked && !m_ready && now - m_lastSampleNs >= 2'000'000) {
            m_lastSampleNs = now;
            if (servingPort(m_hub.log, m_logFrom) != 0)
                becomeReady(now);
            else if (double(now - m_restartNs) / 1e9 > 60) {
                std::fprintf(stderr, "hub_herd_bench: the hub did not come back within 60 s (see %s)\n",
                             m_hub.log.c_str());
                std::exit(1);
            }
        }
        if (m_ready && v >= m_endV)
            break;
        while (!m_heap.empty() && m_heap.top().v <= v) {
            const Due due = m_heap.top();
            m_heap.pop();
            if (due.gen != m_dev[std::size_t(due.dev)].gen)
                continue;
            startPoll(due.dev, due.v, now);
        }
        // Housekeeping: the hub's memory, every 250 ms.
        static thread_local std::int64_t lastRss = 0;
        if (now - lastRss > 250'000'000) {
            lastRss = now;
            if (m_hub.pid > 0 && (!m_outage || m_ready)) {
                const long rss = procStatusKiB(m_hub.pid, "VmRSS");
                m_rssMaxKb = std::max(m_rssMaxKb, rss);
            }
        }
        std::int64_t until = now + 50'000'000;
        if (!m_heap.empty())
            until = std::min(until, realOf(m_heap.top().v));
        if (!m_outage)
            until = std::min(until, realOf(m_t0V));
        else if (!m_restartAsked)
            until = std::min(until, realOf(m_t0V + outageV));
        else if (!m_ready)
            until = std::min(until, now + 2'000'000);
        else
            until = std::min(until, realOf(m_endV));
        m_pool.poll(until);
    }
    const std::int64_t endNs = monoNs();
    m_hubCpuRecovery1 = processCpuS(m_hub.pid);
    m_genCpuRecovery1 = threadCpuS();
    probe.stop();
    m_rssEndKb = procStatusKiB(m_hub.pid, "VmRSS");
    const long hwmKb = procStatusKiB(m_hub.pid, "VmHWM");
    // The hub's own counters (since its last start).
    const Result metrics = oneRequest(m_fleet.port, httpRequest("GET", "/metrics", {}, {}), 10);
    m_pool.reset();
    ::usleep(1'000'000);
    const long rssClosedKb = procStatusKiB(m_hub.pid, "VmRSS");

    // --- Figures.
    const double k = m_o.k;
    // Events in [from, to), and the most in any window of `width` starting
    // at an event inside [from, to) (sliding, so a burst across a second
    // boundary is not split).
    auto countIn = [](const std::vector<std::int64_t> &ts, std::int64_t from, std::int64_t to) {
        return double(std::lower_bound(ts.begin(), ts.end(), to) - std::lower_bound(ts.begin(), ts.end(), from));
    };
    auto busiest = [](const std::vector<std::int64_t> &ts, std::int64_t from, std::int64_t to, std::int64_t width) {
        auto i = std::lower_bound(ts.begin(), ts.end(), from);
        const auto end = std::lower_bound(ts.begin(), ts.end(), to);
        auto j = i;
        std::ptrdiff_t best = 0;
        for (; i != end; ++i) {
            if (j < i)
                j = i;
            while (j != end && *j < *i + width)
                ++j;
            best = std::max(best, j - i);
        }
        return double(best);
    };
    std::sort(m_pollDueV.begin(), m_pollDueV.end());
    std::vector<std::int64_t> sentV;
    sentV.reserve(m_sentNs.size());
    for (auto ns : m_sentNs)
        sentV.push_back(virt(ns));
    const double steadyS = double(m_t0V - warmV) / 1000;
    const double steadyPollsMean = countIn(m_pollDueV, warmV, m_t0V) / steadyS;
    const double steadyPollsPeak = busiest(m_pollDueV, warmV, m_t0V, 1000);
    const double outagePollsMean = countIn(m_pollDueV, m_t0V, m_t1V) / (double(m_t1V - m_t0V) / 1000);
    const double outagePollsPeak = busiest(m_pollDueV, m_t0V, m_t1V, 1000);
    const double outageHttpPeak = busiest(sentV, m_t0V, m_t1V, 1000);
    const double recPollsPeak = busiest(m_pollDueV, m_t1V, m_endV, 1000);
    const double recHttp10 = busiest(sentV, m_t1V, m_endV, 10000) / 10;
    const double steadyRealS = double(m_t0Ns - m_steadyNs0) / 1e9;
    const double steadyRealPeak = busiest(m_sentNs, m_steadyNs0, m_t0Ns, 1'000'000'000LL);

    std::sort(m_syncTimes.begin(), m_syncTimes.end());
    const std::size_t n = m_dev.size();
    const auto quantile = [&](std::size_t percent) {
        const std::size_t need = (n * percent + 99) / 100;
        return m_syncTimes.size() >= need ? double(m_syncTimes[need - 1]) / 1000 : -1;
    };
    s.sync50 = quantile(50);
    s.sync90 = quantile(90);
    s.sync99 = quantile(99);
    s.syncAll = m_syncTimes.size() == n ? double(m_syncTimes.back()) / 1000 : -1;

    s.steadyHttpMean = countIn(sentV, warmV, m_t0V) / steadyS;
    s.steadyHttpPeak = int(busiest(sentV, warmV, m_t0V, 1000));
    s.recoveryHttpPeak = int(busiest(sentV, m_t1V, m_endV, 1000));
    s.ratio1s = s.recoveryHttpPeak / s.steadyHttpMean;
    s.ratio10s = recHttp10 / s.steadyHttpMean;
    s.pollRatio = recPollsPeak / steadyPollsMean;
    s.steadyRealMean = countIn(m_sentNs, m_steadyNs0, m_t0Ns) / steadyRealS;
    s.recoveryRealPeak = int(busiest(m_sentNs, m_t1Ns, endNs, 1'000'000'000LL));

    std::printf("\n=== run %d: %s — %s; hub %s for %d virtual min ===\n", m_runNo, m_spec.label.c_str(),
                policyName(m_spec.policy), m_spec.kill ? "SIGKILLed, then `serve` again" : "SIGSTOPped, then SIGCONT",
                m_o.outageMin);
    if (m_spec.restart)
        std::printf("scenario B: the whole fleet restarts when the outage begins (boots over 1 s, first attempt at boot%s)\n",
                    isPacer(m_spec.policy) ? " + Pacer::initialDelay" : "");
    else
        std::printf("scenario A: devices keep running through the outage\n");
    std::printf("load average at start %.2f, at end %.2f\n", loadStart, loadAverage());
    std::printf("(peaks: the busiest 1-s window, sliding; polls counted when due, HTTP requests when written)\n");
    std::printf("[virtual] steady (%d-%d min): polls %.1f/s mean, %.0f/s peak; HTTP requests %.1f/s mean, %d/s peak (peak/mean %.2f: the noise floor)\n",
                m_o.warmMin, m_o.warmMin + m_o.steadyMin, steadyPollsMean, steadyPollsPeak, s.steadyHttpMean,
                s.steadyHttpPeak, double(s.steadyHttpPeak) / s.steadyHttpMean);
    std::printf("[real]    steady: %.0f HTTP requests/s mean (%.1f real s), %.0f/s peak; hub CPU %.2f cores, generator thread %.0f %% of a core\n",
                s.steadyRealMean, steadyRealS, steadyRealPeak,
                (m_hubCpuSteady1 - m_hubCpuSteady0) / (double(m_t0Ns - m_steadyNs0) / 1e9),
                100 * (m_genCpuSteady1 - m_genCpuSteady0) / (double(m_t0Ns - m_steadyNs0) / 1e9));
    std::printf("[virtual] outage: poll attempts %.0f/s peak, %.1f/s mean; HTTP requests written %.0f/s peak\n",
                outagePollsPeak, outagePollsMean, outageHttpPeak);
    std::printf("[real]    outage: %.1f s (generator thread %.0f %% of a core); %s%s; back %.3f s real (%.0f s virtual) after the %s\n",
                double(m_t1Ns - m_t0Ns) / 1e9, 100 * m_genCpuOutage / (double(m_t1Ns - m_t0Ns) / 1e9), m_spec.kill ? "killed hub: " : "stopped hub",
                m_spec.kill ? m_killStatus.c_str() : "", m_restartS, m_restartS * k,
                m_spec.kill ? "`serve` was started (until it logged `serving`)" : "SIGCONT");
    std::printf("[virtual] recovery (%d min after the hub is back): polls %.0f/s peak; HTTP requests %d/s peak, %.1f/s busiest 10 s\n",
                m_o.afterMin, recPollsPeak, s.recoveryHttpPeak, recHttp10);
    std::printf("          RECOVERY PEAK / STEADY MEAN: %.2f per virtual second (target <= 2.0), %.2f over 10 s; polls due (demand) %.2f\n",
                s.ratio1s, s.ratio10s, recPollsPeak / steadyPollsMean);
    std::printf("[real]    recovery: %d HTTP requests/s peak (%.1f real s) = %.2f x the steady real mean; hub CPU %.2f cores, generator %.0f %%\n",
                s.recoveryRealPeak, double(endNs - m_t1Ns) / 1e9, double(s.recoveryRealPeak) / s.steadyRealMean,
                (m_hubCpuRecovery1 - m_hubCpuRecovery0) / (double(endNs - m_t1Ns) / 1e9),
                100 * (m_genCpuRecovery1 - m_genCpuRecovery0) / (double(endNs - m_t1Ns) / 1e9));
    auto secs = [](double x) {
        char b[32];
        if (x < 0)
            return std::string("not reached");
        std::snprintf(b, sizeof b, "%.0f s", x);
        return std::string(b);
    };
    std::printf("[virtual] back in sync after recovery: 50 %% %s, 90 %% %s, 99 %% %s, all %s (%zu of %zu devices had a "
                "successful poll)\n",
                secs(s.sync50).c_str(), secs(s.sync90).c_str(), secs(s.sync99).c_str(), secs(s.syncAll).c_str(),
                m_syncTimes.size(), n);
    const char *names[4] = {"warm-up", "steady", "outage", "recovery"};
    for (int ph = 1; ph < 4; ++ph) {
        const Phase &p = m_phase[ph];
        std::string answers;
        for (const auto &[key, count] : p.answers)
            answers += " " + key + ":" + std::to_string(count);
        std::printf("  %-8s polls %llu (ok %llu); answers%s\n", names[ph], static_cast<unsigned long long>(p.polls),
                    static_cast<unsigned long long>(p.pollsOk), answers.empty() ? " none" : answers.c_str());
        if (ph != 2)
            std::printf("           [real] hub latency %s; generator lag due->first byte %s\n",
                        fmtPct(percentiles(p.latencyMs)).c_str(), fmtPct(percentiles(p.lagMs)).c_str());
        else
            std::printf("           [real] generator lag due->first byte %s\n", fmtPct(percentiles(p.lagMs)).c_str());
    }
    std::printf("  generator: %d connections at most (limit %d), %llu connects, %llu resent on a fresh connection, %zu polls waiting "
                "for a connection at most, %llu gave up waiting (connect timeout)\n",
                m_pool.peakOpen, m_o.connections, static_cast<unsigned long long>(m_pool.connects),
                static_cast<unsigned long long>(m_pool.retries), m_pool.peakQueued,
                static_cast<unsigned long long>(m_pool.queueExpired));

    // /healthz.
    const auto samples = probe.samples();
    auto healthIn = [&](std::int64_t a, std::int64_t b, const char *what, bool record) {
        std::vector<double> lat;
        int bad = 0, timeouts = 0, errors = 0;
        std::size_t count = 0;
        std::map<int, int> codes;
        for (const auto &h : samples) {
            if (h.ns < a || h.ns >= b)
                continue;
            ++count;
            if (h.status == -1)
                ++timeouts;
            else if (h.status == 0)
                ++errors;
            else
                lat.push_back(h.latencyMs);
            if (h.status != 200) {
                ++bad;
                ++codes[h.status];
            }
        }
        const auto p = percentiles(lat);
        std::string codeText;
        for (const auto &[c, cnt] : codes)
            codeText += " " + (c == -1 ? std::string("timeout") : c == 0 ? std::string("error") : std::to_string(c)) + ":" + std::to_string(cnt);
        std::printf("  /healthz %-8s [real] %zu samples, non-200 %d (timeouts %d, errors %d)%s; latency %s\n", what, count,
                    bad, timeouts, errors, codeText.c_str(), fmtPct(p).c_str());
        if (record) {
            s.healthBad = bad;
            s.healthTimeouts = timeouts;
            s.healthN = count;
            s.healthP50 = p.p50;
            s.healthP99 = p.p99;
            s.healthMax = p.max;
        }
    };
    std::printf("  /healthz every %d ms from its own connection, timeout %d ms:\n", m_o.healthzMs, m_o.healthzTimeoutMs);
    healthIn(m_steadyNs0, m_t0Ns, "steady", false);
    healthIn(m_t1Ns, endNs, "recovery", true);
    {
        // The first 10 real seconds of recovery, where a herd would be.
        healthIn(m_t1Ns, std::min<std::int64_t>(endNs, m_t1Ns + 10'000'000'000LL), "rec.10s", false);
    }
    s.lagP99 = percentiles(m_phase[3].lagMs).p99;

    // The hub.
    std::printf("  hub RSS: %.1f MiB at start, %.1f MiB at the outage, %.1f MiB when back, %.1f MiB max polled, %.1f MiB at end "
                "(VmHWM %.1f MiB%s), %.1f MiB 1 s after the bench closed its connections\n",
                double(m_rssStartKb) / 1024, double(m_rssOutageKb) / 1024, double(m_rssStartRecoveryKb) / 1024,
                double(m_rssMaxKb) / 1024, double(m_rssEndKb) / 1024, double(hwmKb) / 1024,
                m_spec.kill ? ", of the restarted process" : "", double(rssClosedKb) / 1024);
    if (metrics.status == 200) {
        std::map<std::string, double> byCode;
        std::map<int, double> deviceByCode; // keys, device_manifest, fleet_manifest
        std::istringstream in(metrics.body);
        std::string line;
        std::string extra;
        while (std::getline(in, line)) {
            if (line.rfind("stoa_hub_http_requests_total{", 0) == 0) {
                const auto c = line.find("code=\"");
                const auto sp = line.rfind(' ');
                if (c == std::string::npos || sp == std::string::npos)
                    continue;
                const double v = std::atof(line.c_str() + sp + 1);
                byCode[line.substr(c + 6, 3)] += v;
                if (line.find("route=\"keys\"") != std::string::npos || line.find("route=\"device_manifest\"") != std::string::npos ||
                    line.find("route=\"fleet_manifest\"") != std::string::npos)
                    deviceByCode[std::atoi(line.c_str() + c + 6)] += v;
            } else if (line.rfind("stoa_hub_http_shed_total", 0) == 0 || line.rfind("stoa_hub_database_errors_total", 0) == 0 ||
                       line.rfind("stoa_hub_ingest_refused_total", 0) == 0 || line.rfind("stoa_hub_healthy", 0) == 0 ||
                       line.rfind("stoa_hub_http_open_connections", 0) == 0) {
                extra += " " + line;
            }
        }
        std::string codes;
        for (const auto &[c, v] : byCode) {
            codes += " " + c + ":" + std::to_string(static_cast<long long>(v));
            if (c[0] == '5')
                s.http5xx += std::uint64_t(v);
        }
        std::printf("  hub /metrics%s: requests by code%s;%s\n", m_spec.kill ? " (since its restart)" : "", codes.c_str(),
                    extra.c_str());
        double hubDevice = 0, seen = 0;
        for (const auto &[c, v] : deviceByCode)
            hubDevice += v;
        for (const auto &[c, v] : m_seenSinceHubStart)
            seen += double(v);
        std::printf("  the hub answered %.0f poll requests (keys, device and fleet manifest) in this process; the bench received "
                    "%.0f answers: %.0f went to connections the devices had given up (timed out) or that were gone\n",
                    hubDevice, seen, hubDevice - seen);
        // What was waiting for the hub when it came back does not scale
        // with K: the number of attempts in flight is set by the devices'
        // virtual-time behaviour, and the hub drains it at its real speed.
        // A real fleet would bring the same count within about a second.
        const double stale = m_spec.kill ? 0.0 : std::max(0.0, hubDevice - seen);
        if (m_spec.kill)
            std::printf("  backlog at recovery: none can wait for a killed hub (connections refused); %llu requests of polls due "
                        "before it was back were written after (generator lag, not the fleet's doing)\n",
                        static_cast<unsigned long long>(m_carriedAnswers + m_carriedSent));
        else
            std::printf("  backlog at recovery: %llu requests sent while the hub was stopped were answered after it was back, "
                        "%llu more requests of those polls followed, %.0f stale ones (above) were answered to nobody: "
                        "%.0f requests that a real fleet would bring within ~1 s of recovery = %.1f x its steady %.0f requests/s "
                        "(connects still retrying SYNs are not in it: their timeout is scaled by K, the kernel's "
                        "retransmissions are not; see the recovery's connect timeouts)\n",
                        static_cast<unsigned long long>(m_carriedAnswers), static_cast<unsigned long long>(m_carriedSent),
                        stale, double(m_carriedAnswers + m_carriedSent) + stale,
                        (double(m_carriedAnswers + m_carriedSent) + stale) / s.steadyHttpMean, s.steadyHttpMean);
        if (m_spec.kill)
            m_carriedAnswers = m_carriedSent = 0;
        s.backlog = double(m_carriedAnswers + m_carriedSent) + stale;
    } else {
        std::printf("  hub /metrics: no answer (%s %d)\n", failName(metrics.fail), metrics.status);
    }
    return s;
}

} // namespace


namespace {

const char *kUsage =
    "usage: hub_herd_bench [--devices N=10000] [--k K=30] [--interval-s S=300] [--base-s B=5] [--cap-s C=900]\n"
    "                      [--warm-min W=1] [--steady-min M=5] [--outage-min O=30] [--after-min A=16]\n"
    "                      [--connections N=1000] [--connect-timeout-s S=15] [--timeout-s S=30]\n"
    "                      [--healthz-ms MS=200] [--healthz-timeout-ms MS=2000] [--hub-threads N]\n"
    "                      [--runs LIST] [--max-load L=1.5] [--max-wait-s S=900] [--seed X=42]\n"
    "                      [--hub PATH] [--work DIR]\n"
    "  --runs: comma-separated SCENARIO-OUTAGE:POLICY, SCENARIO A or B, OUTAGE kill or stop,\n"
    "          POLICY pacer, pacer-before (ceiling at the cap, before issue 18), naive or exp; default\n"
    "          A-kill:pacer,A-kill:pacer-before,A-kill:naive,A-stop:pacer,B-kill:pacer,B-kill:naive\n"
    "  durations in minutes/seconds are virtual (the fleet's time); K: virtual seconds per real second.\n"
    "  --work DIR keeps the hub's data directory and the devices' tokens there; a later run with the\n"
    "  same DIR and --devices reuses them (registering 10,000 devices takes a while).\n";

bool parseArgs(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h")
            return false;
        if (i + 1 >= argc)
            return false;
        const std::string v = argv[++i];
        auto num = [&](int &out) { out = std::atoi(v.c_str()); };
        if (a == "--devices") num(o.devices);
        else if (a == "--k") o.k = std::atof(v.c_str());
        else if (a == "--interval-s") num(o.intervalS);
        else if (a == "--base-s") num(o.baseS);
        else if (a == "--cap-s") num(o.capS);
        else if (a == "--warm-min") num(o.warmMin);
        else if (a == "--steady-min") num(o.steadyMin);
        else if (a == "--outage-min") num(o.outageMin);
        else if (a == "--after-min") num(o.afterMin);
        else if (a == "--connections") num(o.connections);
        else if (a == "--connect-timeout-s") num(o.connectTimeoutS);
        else if (a == "--timeout-s") num(o.timeoutS);
        else if (a == "--healthz-ms") num(o.healthzMs);
        else if (a == "--healthz-timeout-ms") num(o.healthzTimeoutMs);
        else if (a == "--hub-threads") num(o.hubThreads);
        else if (a == "--runs") o.runs = v;
        else if (a == "--max-load") o.maxLoad = std::atof(v.c_str());
        else if (a == "--max-wait-s") num(o.maxWaitS);
        else if (a == "--seed") o.seed = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--hub") o.hub = v;
        else if (a == "--work") o.work = v;
        else return false;
    }
    return o.devices > 0 && o.devices < (1 << 28) && o.k >= 1 && o.intervalS >= 5 && o.baseS > 0 && o.capS >= o.baseS &&
           o.warmMin >= 0 && o.steadyMin > 0 && o.outageMin > 0 && o.afterMin > 0 && o.connections > 0 &&
           o.healthzMs > 0 && o.healthzTimeoutMs > 0;
}

std::optional<std::vector<RunSpec>> parseRuns(const std::string &text)
{
    std::vector<RunSpec> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        RunSpec r;
        r.label = item;
        const auto colon = item.find(':');
        if (colon == std::string::npos)
            return std::nullopt;
        const std::string sc = item.substr(0, colon), pol = item.substr(colon + 1);
        if (sc == "A-kill") { r.restart = false; r.kill = true; }
        else if (sc == "A-stop") { r.restart = false; r.kill = false; }
        else if (sc == "B-kill") { r.restart = true; r.kill = true; }
        else if (sc == "B-stop") { r.restart = true; r.kill = false; }
        else return std::nullopt;
        if (pol == "pacer") r.policy = Policy::Pacer;
        else if (pol == "pacer-before") r.policy = Policy::PacerBefore;
        else if (pol == "naive") r.policy = Policy::Naive;
        else if (pol == "exp") r.policy = Policy::Exp;
        else return std::nullopt;
        out.push_back(r);
    }
    if (out.empty())
        return std::nullopt;
    return out;
}

[[noreturn]] void die(const std::string &why)
{
    std::fprintf(stderr, "hub_herd_bench: %s\n", why.c_str());
    std::exit(1);
}

std::string lastLine(const std::string &text)
{
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
        t.pop_back();
    const auto nl = t.rfind('\n');
    return nl == std::string::npos ? t : t.substr(nl + 1);
}

std::string jsonField(const std::string &body, const std::string &name)
{
    const std::string key = "\"" + name + "\"";
    auto at = body.find(key);
    if (at == std::string::npos)
        return {};
    at = body.find('"', body.find(':', at + key.size()) + 1);
    if (at == std::string::npos)
        return {};
    const auto end = body.find('"', at + 1);
    return end == std::string::npos ? std::string() : body.substr(at + 1, end - at - 1);
}

// Starts `serve` on `port` (0: a free one) and waits until it serves; the port.
std::uint16_t startHub(const Options &o, HubProcess &hub, const std::string &dataDir, std::uint16_t port)
{
    const std::size_t from = fileSize(hub.log);
    std::vector<std::string> args = {o.hub, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:" + std::to_string(port)};
    if (o.hubThreads > 0) {
        args.push_back("--threads");
        args.push_back(std::to_string(o.hubThreads));
    }
    hub.pid = spawn(args, hub.log);
    if (hub.pid < 0)
        die("cannot start " + o.hub);
    const std::int64_t end = monoNs() + 60'000'000'000LL;
    while (monoNs() < end) {
        if (const int p = servingPort(hub.log, from))
            return std::uint16_t(p);
        int status = 0;
        if (::waitpid(hub.pid, &status, WNOHANG) == hub.pid)
            die("the hub exited at start (see " + hub.log + ")");
        ::usleep(5000);
    }
    die("the hub did not log `serving` within 60 s (see " + hub.log + ")");
}

std::string stopHub(HubProcess &hub)
{
    if (hub.pid <= 0)
        return "not running";
    ::kill(hub.pid, SIGCONT);
    const std::int64_t t = monoNs();
    ::kill(hub.pid, SIGTERM);
    std::string status = reap(hub.pid, 60);
    if (status == "still running") {
        ::kill(hub.pid, SIGKILL);
        status = "did not stop within 60 s of SIGTERM: " + reap(hub.pid, 5);
    }
    hub.pid = -1;
    char buf[64];
    std::snprintf(buf, sizeof buf, " after %.2f s", double(monoNs() - t) / 1e9);
    return status + buf;
}

void waitForQuiet(const Options &o)
{
    const std::int64_t end = monoNs() + std::int64_t(o.maxWaitS) * 1'000'000'000LL;
    double l = loadAverage();
    if (l < o.maxLoad)
        return;
    std::printf("waiting for the load average (%.2f) to fall below %.2f ...\n", l, o.maxLoad);
    std::fflush(stdout);
    while ((l = loadAverage()) >= o.maxLoad) {
        if (monoNs() > end) {
            std::printf("load average still %.2f after %d s: measuring anyway (figures noisier)\n", l, o.maxWaitS);
            return;
        }
        ::sleep(5);
    }
}

// A 1x1 PNG.
const unsigned char kPng[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
                              0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
                              0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
                              0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
                              0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

} // namespace

int main(int argc, char **argv)
{
    const std::int64_t benchStart = monoNs();
    Options o;
    if (!parseArgs(argc, argv, o)) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const auto runs = parseRuns(o.runs);
    if (!runs) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);

    // The work directory; the hub runs from a copy, so a rebuild of the
    // tree during a run does not swap the binary under it.
    if (o.work.empty()) {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/hub_herd_XXXXXX";
        if (!::mkdtemp(templ.data()))
            die("cannot create a work directory");
        o.work = templ;
    }
    fs::create_directories(o.work);
    const std::string hubCopy = o.work + "/stoa-hub";
    std::error_code ec;
    fs::copy_file(o.hub, hubCopy, fs::copy_options::overwrite_existing, ec);
    if (ec)
        die("cannot copy " + o.hub + ": " + ec.message());
    const std::string hubSource = o.hub;
    o.hub = hubCopy;
    const std::string dataDir = o.work + "/data";
    const std::string tokensPath = o.work + "/tokens.txt";

    std::printf("hub_herd_bench: %d devices polling the real stoa-hub (%s, run from a copy in %s)\n", o.devices,
                hubSource.c_str(), o.work.c_str());
    std::printf("policy of the devices: sync interval %d s (published as the schedule's sync-interval), backoff base %d s, "
                "cap %d s (sync/config.h defaults); timeouts connect %d s, no answer %d s (virtual)\n",
                o.intervalS, o.baseS, o.capS, o.connectTimeoutS, o.timeoutS);
    std::printf("time scale K = %g: 1 virtual second = %.1f ms real; outage %d min virtual = %.1f s real.\n"
                "  The hub sees K times the request rate of a real fleet of this size: %d devices at %d s make %.1f polls/s "
                "(%.0f HTTP requests/s) in virtual time, %.0f polls/s (%.0f requests/s) in real time.\n"
                "  A real latency of the hub of x ms counts as K*x ms of the devices' time.\n",
                o.k, 1000.0 / o.k, o.outageMin, o.outageMin * 60.0 / o.k, o.devices, o.intervalS,
                double(o.devices) / o.intervalS, 3.0 * o.devices / o.intervalS, double(o.devices) / o.intervalS * o.k,
                3.0 * o.devices / o.intervalS * o.k);
    std::printf("a poll = GET /v1/keys.json (404), GET /v1/devices/ID/manifest.json (404), GET /v1/manifest.json with "
                "If-None-Match (304): 3 HTTP requests on one keep-alive connection; at most %d connections\n",
                o.connections);

    HubProcess hub;
    hub.log = o.work + "/hub.log";
    Fleet fleet;
    fleet.ids.resize(std::size_t(o.devices));
    fleet.tokens.resize(std::size_t(o.devices));
    for (int d = 0; d < o.devices; ++d) {
        char id[32];
        std::snprintf(id, sizeof id, "herd-%05d", d);
        fleet.ids[std::size_t(d)] = id;
    }

    // --- Setup: reuse, or a fresh data directory with registered devices.
    bool reused = false;
    std::uint16_t port = 0;
    {
        std::ifstream in(tokensPath);
        std::string first;
        if (in && std::getline(in, first)) {
            std::istringstream head(first);
            int n = 0, p = 0;
            std::string op;
            head >> n >> p >> op;
            if (n == o.devices && fs::exists(dataDir + "/hub.db")) {
                fleet.opToken = op;
                port = std::uint16_t(p);
                std::string id, tok;
                int d = 0;
                while (d < n && in >> id >> tok)
                    fleet.tokens[std::size_t(d++)] = tok;
                reused = d == n;
            }
        }
    }
    if (reused) {
        std::printf("setup: reusing %s (%d devices registered before)\n", dataDir.c_str(), o.devices);
        fleet.port = startHub(o, hub, dataDir, port);
    } else {
        fs::remove_all(dataDir);
        fs::create_directories(dataDir);
        int rc = 0;
        const std::string out =
            runCapture("'" + o.hub + "' operator add bench --role admin --data-dir '" + dataDir + "' 2>/dev/null", rc);
        fleet.opToken = lastLine(out);
        if (rc != 0 || fleet.opToken.rfind("stoa_op_", 0) != 0)
            die("stoa-hub operator add failed: " + out);
        fleet.port = startHub(o, hub, dataDir, 0);
        const std::int64_t t = monoNs();
        {
            Pool pool(fleet.port, 64);
            pool.keepBody = true;
            pool.requestTimeoutNs = 120'000'000'000LL;
            // Every registration is queued at once: on a busy machine the
            // last ones wait for a connection longer than a device's connect
            // timeout (15 s; 4,233 of 10,000 got through at 282/s under a
            // load average of 7), which is no failure of the setup.
            pool.connectTimeoutNs = 1800'000'000'000LL;
            int failed = 0;
            std::string firstError;
            pool.done = [&](int owner, Result &&r) -> std::optional<std::string> {
                const std::string token = jsonField(r.body, "token");
                if (r.status != 201 || token.empty()) {
                    if (failed++ == 0)
                        firstError = std::to_string(r.status) + " " + failName(r.fail) + " " + r.body;
                } else {
                    fleet.tokens[std::size_t(owner)] = token;
                }
                return std::nullopt;
            };
            for (int d = 0; d < o.devices; ++d)
                pool.submit(d, httpRequest("POST", "/api/v1/devices", fleet.opToken,
                                           "{\"id\":\"" + fleet.ids[std::size_t(d)] + "\"}",
                                           "Content-Type: application/json\r\n"));
            if (!pool.drain(1800) || failed)
                die("registering devices failed (" + std::to_string(failed) + "): " + firstError);
        }
        const double took = double(monoNs() - t) / 1e9;
        std::printf("setup: %d devices registered through POST /api/v1/devices (64 connections) in %.1f s (%.0f/s)\n",
                    o.devices, took, o.devices / took);
        const Result media = oneRequest(fleet.port, httpRequest("PUT", "/api/v1/media/logo.png", fleet.opToken,
                                                                std::string(reinterpret_cast<const char *>(kPng), sizeof kPng)));
        if (media.status != 200)
            die("PUT /api/v1/media/logo.png: " + std::to_string(media.status) + " " + media.body);
        std::ofstream out2(tokensPath);
        out2 << o.devices << ' ' << fleet.port << ' ' << fleet.opToken << '\n';
        for (int d = 0; d < o.devices; ++d)
            out2 << fleet.ids[std::size_t(d)] << ' ' << fleet.tokens[std::size_t(d)] << '\n';
    }
    {
        // The fleet schedule, with this run's interval as its sync-interval
        // (published again when reusing: --interval-s may differ).
        const std::string schedule = "timezone = UTC\ndefault = main\nsync-interval = " + std::to_string(o.intervalS) +
                                     "s\n\n[playlist main]\nlogo.png 8s\n";
        const Result sched =
            oneRequest(fleet.port, httpRequest("PUT", "/api/v1/schedules/fleet", fleet.opToken, schedule, "Content-Type: text/plain\r\n"));
        if (sched.status != 200)
            die("PUT /api/v1/schedules/fleet: " + std::to_string(sched.status) + " " + sched.body);
        std::printf("setup: published the fleet schedule (sync-interval = %ds): %s", o.intervalS, sched.body.c_str());
        if (!sched.body.empty() && sched.body.back() != '\n')
            std::printf("\n");
    }
    {
        const std::string tok = fleet.tokens[0];
        const Result keys = oneRequest(fleet.port, httpRequest("GET", "/v1/keys.json", tok, {}));
        const Result own = oneRequest(fleet.port, httpRequest("GET", "/v1/devices/" + fleet.ids[0] + "/manifest.json", tok, {}));
        const Result man = oneRequest(fleet.port, httpRequest("GET", "/v1/manifest.json", tok, {}));
        const Result again = oneRequest(fleet.port, httpRequest("GET", "/v1/manifest.json", tok, {}, "If-None-Match: " + man.etag + "\r\n"));
        if (man.status != 200 || man.etag.empty())
            die("GET /v1/manifest.json: " + std::to_string(man.status));
        fleet.fleetEtag = man.etag;
        std::printf("setup: a device's poll answers: keys.json %d, own manifest %d, fleet manifest %d (%zu bytes, ETag %s), "
                    "with If-None-Match %d\n",
                    keys.status, own.status, man.status, man.body.size(), man.etag.c_str(), again.status);
    }
    std::printf("setup: hub on 127.0.0.1:%u, data %s, log %s\n", fleet.port, dataDir.c_str(), hub.log.c_str());
    std::printf("stopping the setup hub: %s\n", stopHub(hub).c_str());

    std::vector<Summary> summaries;
    int runNo = 0;
    for (const RunSpec &spec : *runs) {
        ++runNo;
        waitForQuiet(o);
        const double load = loadAverage();
        const std::size_t logFrom = fileSize(hub.log);
        startHub(o, hub, dataDir, fleet.port);
        // Let the fresh hub settle (its first timers) before the clock starts.
        ::usleep(500'000);
        Run run(o, spec, fleet, hub, dataDir, runNo);
        run.loadStart = load;
        summaries.push_back(run.go());
        std::printf("  hub stopped with SIGTERM: %s\n", stopHub(hub).c_str());
        // The hub's log of this run: lines by kind.
        {
            std::ifstream in(hub.log);
            in.seekg(std::streamoff(logFrom));
            std::string line;
            std::map<std::string, int> kinds;
            std::vector<std::string> firsts;
            int lines = 0;
            while (std::getline(in, line)) {
                ++lines;
                std::string k = line.substr(0, std::min<std::size_t>(line.size(), 60));
                for (char &c : k)
                    if (std::isdigit(static_cast<unsigned char>(c)))
                        c = '#';
                if (kinds[k]++ == 0 && firsts.size() < 8)
                    firsts.push_back(line.substr(0, 200));
            }
            std::printf("  hub log of this run: %d lines, %zu kinds; first of each kind:\n", lines, kinds.size());
            for (const auto &l : firsts)
                std::printf("    | %s\n", l.c_str());
        }
    }

    std::printf("\nhub_herd_bench took %.0f s real\n", double(monoNs() - benchStart) / 1e9);
    std::printf("\nSummary (%d devices, interval %d s, K = %g, outage %d min; [v] virtual, [r] real):\n", o.devices,
                o.intervalS, o.k, o.outageMin);
    std::printf("%-14s %-26s %8s %7s %7s %7s %7s %7s %8s %8s %8s %8s %8s %8s %8s %17s %26s\n", "run", "policy", "steady",
                "steady", "recov.", "peak/", "10 s", "polls", "backlog", "steady", "recov.", "50% in", "90% in", "99% in",
                "all in", "/healthz recovery", "/healthz latency ms");
    std::printf("%-14s %-26s %8s %7s %7s %7s %7s %7s %8s %8s %8s %8s %8s %8s %8s %17s %26s\n", "", "", "[v]req/s",
                "[v]peak", "[v]peak", "steady", "ratio", "ratio", "/steady", "[r]req/s", "[r]peak", "sync [v]", "sync [v]",
                "sync [v]", "sync [v]", "bad/timeouts/n", "[r] p50 / p99 / max");
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        const Summary &s = summaries[i];
        auto secs = [](double x) { return x < 0 ? std::string("never") : std::to_string(int(std::lround(x))) + " s"; };
        char health[64], lat[64];
        std::snprintf(health, sizeof health, "%d/%d/%zu", s.healthBad, s.healthTimeouts, s.healthN);
        std::snprintf(lat, sizeof lat, "%.1f / %.1f / %.1f", s.healthP50, s.healthP99, s.healthMax);
        std::printf("%-14s %-26s %8.1f %7d %7d %7.2f %7.2f %7.2f %8.1f %8.0f %8d %8s %8s %8s %8s %17s %26s\n",
                    s.label.c_str(), policyName((*runs)[i].policy), s.steadyHttpMean, s.steadyHttpPeak,
                    s.recoveryHttpPeak, s.ratio1s, s.ratio10s, s.pollRatio, s.backlog / s.steadyHttpMean,
                    s.steadyRealMean, s.recoveryRealPeak, secs(s.sync50).c_str(), secs(s.sync90).c_str(),
                    secs(s.sync99).c_str(), secs(s.syncAll).c_str(), health, lat);
    }
    return 0;
}
