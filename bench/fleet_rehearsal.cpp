// bench/fleet_rehearsal.cpp — a realistic fleet rehearsal on loopback
// (issue 18, "A realistic fleet rehearsal" and "The spike"): real
// processes, real time, run by hand (not CI).
//
// The deployment: one PostgreSQL (tests/hub/postgres_server.cpp, as the
// `postgres` system user when run as root), two `stoa-hub serve` replicas on
// it and one data directory, HAProxy in front with active health checks on
// /healthz (the shape of packaging/hub's sample haproxy.cfg), and
// bench/fault_proxy in front of HAProxy adding latency and resetting
// connections. The fleet talks to the fault proxy:
//  - --syncd real `stoa-syncd` processes (default 200), each with its own
//    data directory, token and config (the hub's signing key as root key),
//    on the default backoff policy (sync/config.h);
//  - --devices virtual devices (default 10,000) in this process, one epoll
//    thread (bench/http_pool.h, hub_herd_bench's client): each has the
//    agent's real timing, a stoa::sync::Pacer per channel, and does what the
//    agent does every interval: the manifest poll (GET keys.json, own
//    manifest, fleet manifest with If-None-Match, on one keep-alive
//    connection) and the report (POST status with manifest.version = a
//    counter, then POST plays with every play record not yet acknowledged,
//    one new record per report). Retry-After on 429/503 goes to the Pacer.
//
// Phases (real time, no scaling): warm-up (until every syncd has reported
// and one interval passed), steady state (--steady-s), the whole hub tier
// down (both replicas SIGKILLed; HAProxy stays up and answers 503 itself)
// for --outage-s, back (both replicas started again on their ports) until
// every device has reported again (a heartbeat stored in the database after
// the replicas were back) and at least two intervals passed. Then, with
// --spike-s > 0, the spike: the sustainable ingest rate (--sustainable-rps,
// or measured: a closed loop of plays POSTs through HAProxy for --measure-s
// with the fleet running) times --spike-factor, offered open-loop straight to
// HAProxy for --spike-s; every shed record is sent again after its
// Retry-After (a device honours it, spec §1) until acknowledged; the drain
// time is from the end of the spike until every spike record is.
//
// Figures: requests per second at HAProxy's front over the run (a table and
// a PNG, --plot), the busiest 1 s and 10 s after recovery over the steady
// mean (target <= 2.0), time until 50/90/99/100 % of the devices reported
// again, records lost (every heartbeat and play record a virtual device got
// a 2xx for, looked up in the database at the end: target 0; the real
// syncd's records are not counted, they do not say what was acknowledged),
// peak RSS of each replica (sampled every second, and VmHWM at each exit);
// for the spike: offered / sent / served / shed per second, RSS per replica,
// whether a replica died, time to drain.
//
// Usage: fleet_rehearsal --help
#include "child_process.h"
#include "http_pool.h"
#include "loopback_port.h"
#include "postgres_server.h"
#include "process_probe.h"

#include "hub/credentials.h"
#include "hub/open_storage.h"
#include "hub/storage.h"
#include "sync/backoff.h"

#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QPainterPath>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

extern char **environ;

using namespace stoa::bench;
using stoa::sync::BackoffPolicy;
using stoa::sync::Millis;
using stoa::sync::Pacer;

namespace {

namespace fs = std::filesystem;

const char kUsage[] =
    "usage: fleet_rehearsal [options]\n"
    "  --syncd N             real stoa-syncd processes (200)\n"
    "  --devices M           virtual devices (10000)\n"
    "  --interval-s S        sync and status interval of every device, published in the schedule (60)\n"
    "  --steady-s S          steady state measured before the outage (120)\n"
    "  --outage-s S          the whole hub tier down (60; the issue's rehearsal: 600)\n"
    "  --after-max-s S       longest wait for every device to report again (900)\n"
    "  --latency-ms L --jitter-ms J --drop P   the fault proxy (30, 20, 0.002 per chunk)\n"
    "  --connections C       the virtual fleet's connection pool (1000)\n"
    "  --spike-s S           spike length; 0: no spike (120)\n"
    "  --spike-factor F      the spike's rate over the sustainable rate (10)\n"
    "  --sustainable-rps R   the sustainable ingest rate; 0: measure it (0)\n"
    "  --measure-s S         closed-loop measurement of the sustainable rate (15)\n"
    "  --measure-connections C  its clients, each POSTing after the last answer (256)\n"
    "  --spike-connections C connections of the spike generator (1000)\n"
    "  --drain-max-s S       longest wait for the spike's backlog (600)\n"
    "  --check-inter-ms I    HAProxy's /healthz check interval, also its timeout (500, as tests/hub/tst_replicas;\n"
    "                        packaging/hub/haproxy-stoa-hub.cfg checks every 1000 with a 2000 timeout)\n"
    "  --lb-retry-after-s R  Retry-After on HAProxy's own 503, no replica up (30, as the sample; 0: none)\n"
    "  --plot FILE           the PNG of requests per second (default: fleet_rehearsal.png in the work\n"
    "                        folder; docs/fleet_rehearsal.png is the one the docs show)\n"
    "  --work DIR            work directory (a fresh one in $TMPDIR)\n"
    "  --seed N              (42)\n";

struct Options {
    int syncd = 200;
    int devices = 10000;
    int intervalS = 60;
    int steadyS = 120;
    int outageS = 60;
    int afterMaxS = 900;
    int latencyMs = 30;
    int jitterMs = 20;
    double drop = 0.002;
    int connections = 1000;
    int spikeS = 120;
    double spikeFactor = 10;
    double sustainableRps = 0;
    int measureS = 15;
    int measureConnections = 256;
    int spikeConnections = 1000;
    int drainMaxS = 600;
    int checkInterMs = 500; // HAProxy's check interval, and so its check timeout (no `timeout check`)
    int lbRetryAfterS = 30; // Retry-After on HAProxy's own 503 (as packaging/hub's sample); 0: none
    std::string plot; // empty: WORK/fleet_rehearsal.png (a run never overwrites the docs' plot unasked)
    std::string work;
    std::uint64_t seed = 42;
};

bool parseArgs(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc)
            return false;
        const std::string v = argv[++i];
        try {
            if (a == "--syncd") o.syncd = std::stoi(v);
            else if (a == "--devices") o.devices = std::stoi(v);
            else if (a == "--interval-s") o.intervalS = std::stoi(v);
            else if (a == "--steady-s") o.steadyS = std::stoi(v);
            else if (a == "--outage-s") o.outageS = std::stoi(v);
            else if (a == "--after-max-s") o.afterMaxS = std::stoi(v);
            else if (a == "--latency-ms") o.latencyMs = std::stoi(v);
            else if (a == "--jitter-ms") o.jitterMs = std::stoi(v);
            else if (a == "--drop") o.drop = std::stod(v);
            else if (a == "--connections") o.connections = std::stoi(v);
            else if (a == "--spike-s") o.spikeS = std::stoi(v);
            else if (a == "--spike-factor") o.spikeFactor = std::stod(v);
            else if (a == "--sustainable-rps") o.sustainableRps = std::stod(v);
            else if (a == "--measure-s") o.measureS = std::stoi(v);
            else if (a == "--measure-connections") o.measureConnections = std::stoi(v);
            else if (a == "--spike-connections") o.spikeConnections = std::stoi(v);
            else if (a == "--drain-max-s") o.drainMaxS = std::stoi(v);
            else if (a == "--check-inter-ms") o.checkInterMs = std::stoi(v);
            else if (a == "--lb-retry-after-s") o.lbRetryAfterS = std::stoi(v);
            else if (a == "--plot") o.plot = v;
            else if (a == "--work") o.work = v;
            else if (a == "--seed") o.seed = std::stoull(v);
            else return false;
        } catch (...) {
            return false;
        }
    }
    return o.devices >= 1 && o.syncd >= 0 && o.intervalS >= 1 && o.connections >= 1;
}

// Every child started (hubs, syncd, HAProxy, the proxy), so die() can end
// them; PostgreSQL dies with its owner thread (postgres_server.cpp).
std::vector<pid_t> g_children;

[[noreturn]] void die(const std::string &why)
{
    std::fprintf(stderr, "fleet_rehearsal: %s\n", why.c_str());
    std::fflush(stdout);
    for (const pid_t pid : g_children)
        ::kill(pid, SIGKILL);
    std::_Exit(1);
}

std::int64_t wallMs() { return QDateTime::currentMSecsSinceEpoch(); }

std::string loadavg()
{
    std::string s = readFile("/proc/loadavg");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

// /proc readings of a process (tests/harness/process_probe.h), as 0 when it
// is gone: the run adds them up over processes that come and go.
long rssKiB(pid_t pid, const char *key)
{
    return pid <= 0 ? 0 : long(std::max<qint64>(0, stoa::endpoints::testing::procStatusKiB(pid, key)));
}

double processCpuS(pid_t pid)
{
    const qint64 ticks = stoa::endpoints::testing::cpuTicks(pid);
    return ticks < 0 ? 0 : double(ticks) / double(sysconf(_SC_CLK_TCK));
}

// A child of this run (child_process.h's spawn), ended by die() too.
pid_t spawnChild(const std::vector<std::string> &args, const std::string &logPath)
{
    const pid_t pid = stoa::bench::spawn(args, logPath);
    if (pid > 0)
        g_children.push_back(pid);
    return pid;
}

std::string stopChild(pid_t &pid, int sig = SIGTERM, double timeoutS = 30)
{
    if (pid <= 0)
        return "not running";
    ::kill(pid, sig);
    std::string s = reap(pid, timeoutS);
    if (s == "still running") {
        ::kill(pid, SIGKILL);
        s = "did not stop within the deadline: " + reap(pid, 10);
    }
    pid = -1;
    return s;
}

bool alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0;
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
    std::string out;
    for (auto i = at + 1; i < body.size() && body[i] != '"'; ++i) {
        if (body[i] == '\\' && i + 1 < body.size()) {
            ++i;
            out += body[i] == 'n' ? '\n' : body[i];
        } else {
            out += body[i];
        }
    }
    return out;
}

// ---------------------------------------------------------------------------
// The hub replicas and HAProxy.

struct Replica {
    pid_t pid = -1;
    std::uint16_t port = 0;
    std::string log;
    long peakRssKb = 0; // over every life of the replica
    int lives = 0;
    double cpuS = 0;    // of the lives that ended
    std::string exits;  // how each life ended
};

void startReplica(const std::string &hubBin, const std::string &dataDir, const std::string &url, Replica &r)
{
    const std::size_t from = fileSize(r.log);
    r.pid = spawnChild({hubBin, "serve", "--data-dir", dataDir, "--database", url, "--listen",
                   "127.0.0.1:" + std::to_string(r.port)},
                  r.log);
    if (r.pid < 0)
        die("cannot start " + hubBin);
    ++r.lives;
    const std::int64_t end = monoNs() + 60'000'000'000LL;
    while (monoNs() < end) {
        if (readFile(r.log, from).find("serving http://127.0.0.1:" + std::to_string(r.port)) != std::string::npos)
            return;
        if (!alive(r.pid))
            die("a replica exited at start:\n" + readFile(r.log, from));
        ::usleep(20000); // the poll's pace
    }
    die("a replica logged no `serving` line within 60 s (" + r.log + ")");
}

// Ends a life of the replica with `sig`, keeping its peak RSS and CPU.
void endReplica(Replica &r, int sig)
{
    if (r.pid <= 0)
        return;
    r.peakRssKb = std::max(r.peakRssKb, rssKiB(r.pid, "VmHWM"));
    r.cpuS += processCpuS(r.pid);
    r.exits += (r.exits.empty() ? "" : ", ") + stopChild(r.pid, sig, 60);
}

struct HaproxyStats {
    bool ok = false;
    std::uint64_t reqTot = 0, rsp2xx = 0, rsp5xx = 0;
    std::map<std::string, std::string> serverStatus;
};

HaproxyStats haproxyStats(std::uint16_t statsPort)
{
    HaproxyStats s;
    const Result r = oneRequest(statsPort, httpRequest("GET", "/stats;csv", {}, {}), 5);
    if (r.status != 200)
        return s;
    std::istringstream in(r.body);
    std::string line;
    std::vector<std::string> header;
    auto split = [](const std::string &l) {
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream ls(l);
        while (std::getline(ls, cell, ','))
            cells.push_back(cell);
        return cells;
    };
    auto col = [&](const char *name) {
        const auto it = std::find(header.begin(), header.end(), name);
        return it == header.end() ? std::size_t(-1) : std::size_t(it - header.begin());
    };
    while (std::getline(in, line)) {
        if (line.rfind("# ", 0) == 0) {
            header = split(line.substr(2));
            continue;
        }
        const auto c = split(line);
        if (c.size() < 2 || header.empty())
            continue;
        auto num = [&](const char *name) -> std::uint64_t {
            const auto i = col(name);
            return i < c.size() ? std::strtoull(c[i].c_str(), nullptr, 10) : 0;
        };
        if (c[0] == "stoa" && c[1] == "FRONTEND") {
            s.reqTot = num("req_tot");
            s.rsp2xx = num("hrsp_2xx");
            s.rsp5xx = num("hrsp_5xx");
            s.ok = true;
        } else if (c[0] == "hubs" && c[1] != "BACKEND" && col("status") < c.size()) {
            s.serverStatus[c[1]] = c[col("status")];
        }
    }
    return s;
}

// ---------------------------------------------------------------------------
// The virtual fleet: one thread, the agent's timing per device.

// `unsent`: requests the generator could not put on a connection in time
// (its pool's queue: Fail::Queued, or the spike's queue bound), so a limit
// of the generator shows apart from the hub's answers.
struct Counters {
    std::atomic<std::uint64_t> written{0}, ok{0}, shed{0}, other{0}, transport{0}, unsent{0};
};

struct Snapshot {
    std::uint64_t written = 0, ok = 0, shed = 0, other = 0, transport = 0, unsent = 0;
};

Snapshot snap(const Counters &c)
{
    return {c.written.load(), c.ok.load(), c.shed.load(), c.other.load(), c.transport.load(), c.unsent.load()};
}

// `ok`: the hub answered (2xx, 304, and 404 for the absent keys.json and
// own manifest of a poll); shed: 503 or 429; other: any other status.
void count(Counters &c, const Result &r)
{
    if (r.status >= 200 && r.status < 500 && r.status != 429)
        ++c.ok;
    else if (r.status == 503 || r.status == 429)
        ++c.shed;
    else if (r.status != 0)
        ++c.other;
    else if (r.fail == Fail::Queued)
        ++c.unsent;
    else
        ++c.transport;
}

std::optional<Millis> retryAfterOf(const Result &r)
{
    if (r.retryAfter.empty())
        return std::nullopt;
    return stoa::sync::parseRetryAfter(r.retryAfter, QDateTime::currentDateTimeUtc());
}

struct FleetDevice {
    std::string id, token;
    Pacer poll, report;
    int pollStage = 0, reportStage = 0;
    std::int64_t seq = 0;               // heartbeat counter: manifest.version
    std::vector<std::int64_t> hbAcked;  // versions acknowledged
    std::vector<std::int64_t> pending;  // play records not yet acknowledged
    std::vector<std::int64_t> inFlight; // those in the batch on the way
    std::vector<std::int64_t> playsAcked;
    std::int64_t nextPlay = 0;
    std::int64_t lastReportNs = 0;
};

class VirtualFleet {
public:
    VirtualFleet(std::uint16_t port, int connections, std::string etag, Millis interval, std::uint64_t seed)
        : m_pool(port, connections), m_etag(std::move(etag)), m_rng(seed), m_interval(interval)
    {
        m_pool.sent = [this](int, std::int64_t) { ++counters.written; };
        m_pool.done = [this](int owner, Result &&r) { return answered(owner, std::move(r)); };
    }
    ~VirtualFleet() { stop(); }

    std::vector<FleetDevice> devices;
    Counters counters;

    void add(std::string id, std::string token)
    {
        devices.push_back({std::move(id), std::move(token), Pacer(m_interval, BackoffPolicy{}),
                           Pacer(m_interval, BackoffPolicy{}), 0, 0, 0, {}, {}, {}, {}, 0, 0});
    }

    void start()
    {
        const std::int64_t now = monoNs();
        for (int d = 0; d < int(devices.size()); ++d) {
            // A long-running fleet: content on screen, phases spread over one interval.
            m_due.push({now + devices[std::size_t(d)].poll.initialDelay(m_rng, true).count() * 1'000'000, d * 2});
            m_due.push({now + devices[std::size_t(d)].report.initialDelay(m_rng, true).count() * 1'000'000, d * 2 + 1});
        }
        m_thread = std::thread([this] { run(); });
    }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    // Reports (heartbeat acknowledged) after `sinceNs`, by device; -1: none yet.
    std::vector<std::int64_t> firstReportsAfter(std::int64_t sinceNs)
    {
        std::lock_guard lock(m_mutex);
        if (m_firstAfter.empty() || m_firstAfterSince != sinceNs)
            return std::vector<std::int64_t>(devices.size(), -1);
        return m_firstAfter;
    }
    void markRecovery(std::int64_t sinceNs)
    {
        std::lock_guard lock(m_mutex);
        m_firstAfterSince = sinceNs;
        m_firstAfter.assign(devices.size(), -1);
    }
    std::size_t queuedPeak() const { return m_pool.peakQueued; }
    int openPeak() const { return m_pool.peakOpen; }
    double cpuS() const { return m_cpuS.load(); }

private:
    struct Due {
        std::int64_t ns;
        int owner;
        bool operator>(const Due &o) const { return ns > o.ns; }
    };
    Pool m_pool;
    std::string m_etag;
    std::mt19937_64 m_rng;
    Millis m_interval;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> m_due;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
    std::mutex m_mutex; // guards m_firstAfter*
    std::int64_t m_firstAfterSince = 0;
    std::vector<std::int64_t> m_firstAfter;
    std::atomic<double> m_cpuS{0};

    std::string pollRequest(const FleetDevice &d, int stage) const
    {
        switch (stage) {
        case 0: return httpRequest("GET", "/v1/keys.json", d.token, {});
        case 1: return httpRequest("GET", "/v1/devices/" + d.id + "/manifest.json", d.token, {});
        default: return httpRequest("GET", "/v1/manifest.json", d.token, {}, "If-None-Match: " + m_etag + "\r\n");
        }
    }
    std::string statusRequest(FleetDevice &d)
    {
        ++d.seq;
        return httpRequest("POST", "/v1/devices/" + d.id + "/status", d.token,
                           "{\"device_id\":\"" + d.id + "\",\"manifest\":{\"version\":" + std::to_string(d.seq) + "}}",
                           "Content-Type: application/json\r\n");
    }
    std::string playsRequest(FleetDevice &d)
    {
        d.inFlight.assign(d.pending.begin(), d.pending.begin() + std::ptrdiff_t(std::min<std::size_t>(d.pending.size(), 50)));
        std::string body;
        for (const auto p : d.inFlight)
            body += "{\"id\":\"" + d.id + "-p" + std::to_string(p) + "\",\"duration_ms\":8000}\n";
        return httpRequest("POST", "/v1/devices/" + d.id + "/plays", d.token, body, "Content-Type: application/x-ndjson\r\n");
    }

    void begin(int owner)
    {
        FleetDevice &d = devices[std::size_t(owner / 2)];
        if (owner % 2 == 0) {
            d.pollStage = 0;
            m_pool.submit(owner, pollRequest(d, 0));
        } else {
            d.reportStage = 0;
            d.pending.push_back(d.nextPlay++); // one more record played since the last report
            m_pool.submit(owner, statusRequest(d));
        }
    }

    void schedule(int owner, Millis wait) { m_due.push({monoNs() + wait.count() * 1'000'000, owner}); }

    std::optional<std::string> answered(int owner, Result &&r)
    {
        count(counters, r);
        FleetDevice &d = devices[std::size_t(owner / 2)];
        if (owner % 2 == 0) {
            const bool ok = d.pollStage < 2 ? (r.status == 200 || r.status == 404) : (r.status == 200 || r.status == 304);
            if (ok && d.pollStage < 2)
                return pollRequest(d, ++d.pollStage);
            schedule(owner, ok ? d.poll.afterSuccess(m_rng) : d.poll.afterFailure(m_rng, retryAfterOf(r)));
            return std::nullopt;
        }
        const bool ok = r.status >= 200 && r.status < 300;
        if (d.reportStage == 0) {
            if (ok) {
                d.hbAcked.push_back(d.seq);
                d.lastReportNs = r.doneNs;
                {
                    std::lock_guard lock(m_mutex);
                    const auto di = std::size_t(owner / 2);
                    if (!m_firstAfter.empty() && m_firstAfter[di] < 0 && r.doneNs >= m_firstAfterSince)
                        m_firstAfter[di] = r.doneNs;
                }
                d.reportStage = 1;
                return playsRequest(d);
            }
        } else if (ok) {
            d.playsAcked.insert(d.playsAcked.end(), d.inFlight.begin(), d.inFlight.end());
            d.pending.erase(d.pending.begin(), d.pending.begin() + std::ptrdiff_t(d.inFlight.size()));
        }
        d.inFlight.clear();
        schedule(owner, ok ? d.report.afterSuccess(m_rng) : d.report.afterFailure(m_rng, retryAfterOf(r)));
        return std::nullopt;
    }

    void run()
    {
        while (!m_stop) {
            const std::int64_t now = monoNs();
            while (!m_due.empty() && m_due.top().ns <= now) {
                const int owner = m_due.top().owner;
                m_due.pop();
                begin(owner);
            }
            const std::int64_t next = m_due.empty() ? now + 50'000'000 : std::min(m_due.top().ns, now + 50'000'000);
            m_pool.poll(next);
            timespec ts{};
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
            m_cpuS = double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
        }
        m_pool.reset();
    }
};

// ---------------------------------------------------------------------------
// The spike: plays records offered open-loop straight to HAProxy; each one
// sent again after Retry-After (or its backoff) until acknowledged.

class Spike {
public:
    Spike(std::uint16_t port, int connections, std::vector<std::pair<std::string, std::string>> devices, Millis interval,
          std::uint64_t seed)
        : m_pool(port, connections), m_connections(connections), m_devices(std::move(devices)), m_rng(seed),
          m_interval(interval)
    {
        m_pool.sent = [this](int, std::int64_t) { ++counters.written; };
        m_pool.done = [this](int owner, Result &&r) { return answered(owner, std::move(r)); };
    }
    ~Spike() { stop(); }

    Counters counters;
    std::atomic<std::uint64_t> offered{0}, acked{0}, withRetryAfter{0};

    void start(double ratePerS, int seconds)
    {
        m_rate = ratePerS;
        m_seconds = seconds;
        m_thread = std::thread([this] { run(); });
    }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    bool generating() const { return m_generating.load(); }
    std::uint64_t outstanding() const { return offered.load() - acked.load(); }
    // Acknowledged record ids by device index.
    std::map<int, std::vector<std::int64_t>> ackedIds()
    {
        std::lock_guard lock(m_mutex);
        return m_acked;
    }
    std::string deviceId(int i) const { return m_devices[std::size_t(i)].first; }
    std::size_t queuedPeak() const { return m_pool.peakQueued; }

private:
    struct Due {
        std::int64_t ns;
        int rec;
        bool operator>(const Due &o) const { return ns > o.ns; }
    };
    struct Rec {
        stoa::sync::Backoff backoff;
    };
    Pool m_pool;
    int m_connections;
    std::vector<std::pair<std::string, std::string>> m_devices; // id, token
    std::mt19937_64 m_rng;
    Millis m_interval;
    double m_rate = 0;
    int m_seconds = 0;
    std::vector<Rec> m_recs;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> m_retries;
    std::atomic<bool> m_stop{false}, m_generating{false};
    std::thread m_thread;
    std::mutex m_mutex;
    std::map<int, std::vector<std::int64_t>> m_acked;

    int deviceOf(int rec) const { return rec % int(m_devices.size()); }

    // Sends `rec` now, or, when the generator is already that far behind
    // (more waiting than two connections' worth each), counts it unsent and
    // lets it back off like a device whose connection attempt failed: the
    // generator's queue stays bounded and its limit is counted, not hidden.
    void send(int rec)
    {
        if (m_pool.queued() >= std::size_t(2 * m_connections)) {
            ++counters.unsent;
            retryLater(rec, std::nullopt);
            return;
        }
        m_pool.submit(rec, request(rec));
    }
    void retryLater(int rec, std::optional<Millis> retryAfter)
    {
        // The agent's plays channel: full jitter up to 2 intervals, never
        // before the hub's Retry-After.
        const Millis wait =
            m_recs[std::size_t(rec)].backoff.failure(m_rng, retryAfter, stoa::sync::intervalCap(BackoffPolicy{}, m_interval));
        m_retries.push({monoNs() + wait.count() * 1'000'000, rec});
    }

    std::string request(int rec) const
    {
        const auto &[id, token] = m_devices[std::size_t(deviceOf(rec))];
        return httpRequest("POST", "/v1/devices/" + id + "/plays", token,
                           "{\"id\":\"" + id + "-s" + std::to_string(rec) + "\",\"duration_ms\":8000}\n",
                           "Content-Type: application/x-ndjson\r\n");
    }

    std::optional<std::string> answered(int rec, Result &&r)
    {
        count(counters, r);
        if (r.status >= 200 && r.status < 300) {
            ++acked;
            std::lock_guard lock(m_mutex);
            m_acked[deviceOf(rec)].push_back(rec);
            return std::nullopt;
        }
        if (!r.retryAfter.empty())
            ++withRetryAfter;
        retryLater(rec, retryAfterOf(r));
        return std::nullopt;
    }

    void run()
    {
        const std::int64_t start = monoNs();
        const std::int64_t end = start + std::int64_t(m_seconds) * 1'000'000'000LL;
        m_generating = true;
        while (!m_stop) {
            const std::int64_t now = monoNs();
            if (m_generating) {
                const std::int64_t t = std::min(now, end);
                const auto want = std::uint64_t(double(t - start) / 1e9 * m_rate);
                while (m_recs.size() < want) {
                    m_recs.push_back({stoa::sync::Backoff(BackoffPolicy{})});
                    ++offered;
                    send(int(m_recs.size() - 1));
                }
                if (now >= end)
                    m_generating = false;
            }
            while (!m_retries.empty() && m_retries.top().ns <= now) {
                const int rec = m_retries.top().rec;
                m_retries.pop();
                send(rec);
            }
            std::int64_t next = now + (m_generating ? 1'000'000 : 50'000'000);
            if (!m_retries.empty())
                next = std::min(next, m_retries.top().ns);
            m_pool.poll(next);
        }
        m_pool.reset();
    }
};

// The sustainable ingest rate: `conns` clients each POSTing one plays record
// after the other through HAProxy for `seconds`; acknowledged per second.
double measureSustainable(std::uint16_t port, const std::vector<std::pair<std::string, std::string>> &devices, int conns,
                          int seconds, Counters &c)
{
    Pool pool(port, conns);
    std::int64_t n = 0;
    std::uint64_t acked = 0;
    const std::int64_t end = monoNs() + std::int64_t(seconds) * 1'000'000'000LL;
    auto request = [&] {
        const auto &[id, token] = devices[std::size_t(n % std::int64_t(devices.size()))];
        ++n;
        return httpRequest("POST", "/v1/devices/" + id + "/plays", token,
                           "{\"id\":\"" + id + "-m" + std::to_string(n) + "\",\"duration_ms\":8000}\n",
                           "Content-Type: application/x-ndjson\r\n");
    };
    pool.done = [&](int, Result &&r) -> std::optional<std::string> {
        count(c, r);
        if (r.status >= 200 && r.status < 300)
            ++acked;
        if (monoNs() >= end)
            return std::nullopt;
        return request();
    };
    pool.sent = [&](int, std::int64_t) { ++c.written; };
    const std::int64_t t0 = monoNs();
    for (int i = 0; i < conns; ++i)
        pool.submit(i, request());
    pool.drain(double(seconds) + 60);
    return double(acked) / (double(monoNs() - t0) / 1e9);
}

// ---------------------------------------------------------------------------
// Sampling, once a second.

struct Row {
    double t = 0;     // s since the fleet started
    char phase = ' '; // w steady-warm, s steady, o outage, r recovery, m measure, p spike, d drain
    std::uint64_t feReq = 0, fe2xx = 0, fe5xx = 0; // HAProxy front, this second
    Snapshot fleet, spike;                          // this second
    long rssKb[2] = {0, 0};
    std::string servers;
};

std::uint64_t delta(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : 0; }

Snapshot deltaOf(const Snapshot &a, const Snapshot &b)
{
    return {delta(a.written, b.written), delta(a.ok, b.ok), delta(a.shed, b.shed), delta(a.other, b.other),
            delta(a.transport, b.transport), delta(a.unsent, b.unsent)};
}

// Busiest `w`-second window (mean per second) among rows [from, to).
double busiest(const std::vector<Row> &rows, std::size_t from, std::size_t to, std::size_t w)
{
    double best = 0;
    for (std::size_t i = from; i + w <= to; ++i) {
        double s = 0;
        for (std::size_t j = i; j < i + w; ++j)
            s += double(rows[j].feReq);
        best = std::max(best, s / double(w));
    }
    return best;
}

void drawPlot(const std::vector<Row> &rows, const std::string &path, const std::string &title, double steadyMean)
{
    if (rows.empty())
        return;
    const int W = 1400, H = 560, L = 80, R = 20, T = 50, B = 60;
    QImage img(W, H, QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    double maxY = 1;
    for (const auto &r : rows)
        maxY = std::max({maxY, double(r.feReq), double(r.spike.written + r.fleet.written)});
    maxY *= 1.1;
    const double tBase = std::floor(rows.front().t) - 1; // the spike's plot starts where the rehearsal's ends
    const double maxT = rows.back().t + 1 - tBase;
    auto x = [&](double t) { return L + (W - L - R) * (t - tBase) / maxT; };
    auto y = [&](double v) { return H - B - (H - T - B) * v / maxY; };
    // Phases as bands.
    const std::map<char, std::pair<QColor, QString>> bands = {
        {'o', {QColor(255, 220, 220), "hub tier down"}}, {'r', {QColor(220, 240, 255), "recovery"}},
        {'m', {QColor(240, 240, 200), "measure"}},      {'p', {QColor(255, 235, 200), "spike"}},
        {'d', {QColor(230, 255, 230), "drain"}}};
    std::size_t i = 0;
    while (i < rows.size()) {
        std::size_t j = i;
        while (j < rows.size() && rows[j].phase == rows[i].phase)
            ++j;
        if (const auto it = bands.find(rows[i].phase); it != bands.end()) {
            p.fillRect(QRectF(x(rows[i].t - 1), T, x(rows[j - 1].t) - x(rows[i].t - 1), H - T - B), it->second.first);
            p.setPen(Qt::darkGray);
            p.drawText(QPointF(x(rows[i].t - 1) + 4, T + 14), it->second.second);
        }
        i = j;
    }
    p.setPen(Qt::black);
    p.drawLine(L, H - B, W - R, H - B);
    p.drawLine(L, T, L, H - B);
    QFont f = p.font();
    f.setPointSize(9);
    p.setFont(f);
    for (int k = 0; k <= 5; ++k) {
        const double v = maxY / 1.1 * k / 5;
        p.drawText(QRectF(0, y(v) - 8, L - 6, 16), Qt::AlignRight | Qt::AlignVCenter, QString::number(v, 'f', 0));
        p.setPen(QColor(225, 225, 225));
        p.drawLine(QPointF(L, y(v)), QPointF(W - R, y(v)));
        p.setPen(Qt::black);
    }
    const double step = maxT > 1200 ? 120 : maxT > 600 ? 60 : 30;
    for (double t = 0; t < maxT; t += step)
        p.drawText(QRectF(x(tBase + t) - 30, H - B + 4, 60, 16), Qt::AlignCenter, QString::number(tBase + t, 'f', 0));
    p.drawText(QRectF(L, H - 24, W - L - R, 18), Qt::AlignCenter, "seconds since the fleet started");
    p.save();
    p.translate(16, (H - B + T) / 2.0);
    p.rotate(-90);
    p.drawText(QRectF(-150, -10, 300, 20), Qt::AlignCenter, "requests per second");
    p.restore();
    auto series = [&](QColor c, auto value) {
        QPainterPath line;
        for (std::size_t k = 0; k < rows.size(); ++k) {
            const QPointF pt(x(rows[k].t), y(double(value(rows[k]))));
            if (k == 0)
                line.moveTo(pt);
            else
                line.lineTo(pt);
        }
        p.setPen(QPen(c, 1.5));
        p.setBrush(Qt::NoBrush);
        p.drawPath(line);
    };
    series(Qt::black, [](const Row &r) { return r.feReq; });
    series(QColor(0, 150, 0), [](const Row &r) { return r.fe2xx; });
    series(QColor(210, 0, 0), [](const Row &r) { return r.fe5xx; });
    if (steadyMean > 0) {
        p.setPen(QPen(QColor(0, 0, 200), 1, Qt::DashLine));
        p.drawLine(QPointF(L, y(2 * steadyMean)), QPointF(W - R, y(2 * steadyMean)));
        p.drawText(QPointF(W - R - 180, y(2 * steadyMean) - 4), "2 x steady mean (target)");
    }
    f.setPointSize(11);
    p.setFont(f);
    p.setPen(Qt::black);
    p.drawText(QRectF(L, 6, W - L - R, 20), Qt::AlignLeft, QString::fromStdString(title));
    f.setPointSize(9);
    p.setFont(f);
    p.setPen(Qt::black);
    p.drawText(QPointF(L + 10, 40), "black: requests at HAProxy's front");
    p.setPen(QColor(0, 150, 0));
    p.drawText(QPointF(L + 250, 40), "green: answered 2xx");
    p.setPen(QColor(210, 0, 0));
    p.drawText(QPointF(L + 400, 40), "red: answered 5xx (503: shed by a replica, or no replica up)");
    p.end();
    if (!img.save(QString::fromStdString(path), "PNG"))
        std::printf("cannot write the plot to %s\n", path.c_str());
    else
        std::printf("plot: %s\n", path.c_str());
}

std::string pct(std::vector<std::int64_t> v, double q, std::int64_t sinceNs, std::size_t total)
{
    std::erase_if(v, [](std::int64_t x) { return x < 0; });
    std::sort(v.begin(), v.end());
    const auto need = std::size_t(std::ceil(q * double(total)));
    if (need == 0)
        return "0 s";
    if (v.size() < need)
        return "never (" + std::to_string(v.size()) + " of " + std::to_string(total) + ")";
    char b[32];
    std::snprintf(b, sizeof b, "%.1f s", double(v[need - 1] - sinceNs) / 1e9);
    return b;
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
    Options o;
    if (argc > 1 && std::string(argv[1]) == "--help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (!parseArgs(argc, argv, o)) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    // The children's environment (inherited): info lines on (the hubs'
    // `serving` line is one), plain log format. The plot needs no display.
    ::unsetenv("JOURNAL_STREAM");
    ::setenv("QT_LOGGING_RULES", "*.debug=false", 1);
    ::setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QGuiApplication app(argc, argv);
    const std::int64_t benchStart = monoNs();

    if (o.work.empty()) {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/fleet_rehearsal_XXXXXX";
        if (!::mkdtemp(templ.data()))
            die("cannot create a work directory");
        o.work = templ;
    }
    fs::create_directories(o.work);
    if (o.plot.empty())
        o.plot = o.work + "/fleet_rehearsal.png";
    // Copies of the binaries: a rebuild of the tree during a run does not swap them.
    const std::string hubBin = o.work + "/stoa-hub", syncdBin = o.work + "/stoa-syncd", proxyBin = o.work + "/fault_proxy";
    for (const auto &[from, to] : {std::pair{std::string(STOA_HUB_BIN), hubBin}, std::pair{std::string(STOA_SYNCD_BIN), syncdBin},
                                   std::pair{std::string(FAULT_PROXY_BIN), proxyBin}}) {
        std::error_code ec;
        fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
        if (ec)
            die("cannot copy " + from + ": " + ec.message());
    }
    const Millis interval(std::int64_t(o.intervalS) * 1000);
    std::printf("fleet_rehearsal: %d stoa-syncd + %d virtual devices, interval %d s; steady %d s, hub tier down %d s; "
                "fault proxy latency %d + [0, %d] ms, drop %.4f per chunk; spike %d s at %.0fx; work %s\n",
                o.syncd, o.devices, o.intervalS, o.steadyS, o.outageS, o.latencyMs, o.jitterMs, o.drop, o.spikeS,
                o.spikeFactor, o.work.c_str());
    std::printf("load average at start: %s (2 cores, shared with other builders)\n", loadavg().c_str());

    // --- PostgreSQL, the devices, an operator.
    if (!stoa::hub::test::PostgresServer::available())
        die("PostgreSQL: " + stoa::hub::test::PostgresServer::unavailableReason());
    auto pg = stoa::hub::test::PostgresServer::start();
    if (!pg)
        die("PostgreSQL: " + pg.error());
    const std::string url = pg->url();
    const std::string dataDir = o.work + "/hubdata";
    fs::create_directories(dataDir);
    std::vector<std::pair<std::string, std::string>> virtualDevices, syncdDevices; // id, token
    std::string opToken;
    std::unique_ptr<stoa::hub::Storage> storage;
    {
        const std::int64_t t = monoNs();
        auto s = stoa::hub::openStorage(url, dataDir);
        if (!s)
            die("openStorage: " + s.error().message);
        storage = std::move(*s);
        if (auto m = storage->migrate(); !m)
            die("migrate: " + m.error().message);
        auto add = [&](const std::string &id) {
            const std::string token = *stoa::hub::newToken(stoa::hub::TokenKind::Device);
            if (auto r = storage->addDevice(id, stoa::hub::tokenHash(token), wallMs()); !r)
                die("addDevice " + id + ": " + r.error().message);
            return std::pair{id, token};
        };
        char id[32];
        for (int d = 0; d < o.devices; ++d) {
            std::snprintf(id, sizeof id, "v-%05d", d);
            virtualDevices.push_back(add(id));
        }
        for (int d = 0; d < o.syncd; ++d) {
            std::snprintf(id, sizeof id, "s-%03d", d);
            syncdDevices.push_back(add(id));
        }
        opToken = *stoa::hub::newToken(stoa::hub::TokenKind::Operator);
        if (auto r = storage->addOperator("rehearsal", stoa::hub::Role::Admin, stoa::hub::tokenHash(opToken), wallMs()); !r)
            die("addOperator: " + r.error().message);
        std::printf("setup: PostgreSQL %s, %zu devices registered in %.1f s\n", url.c_str(),
                    virtualDevices.size() + syncdDevices.size(), double(monoNs() - t) / 1e9);
    }

    // --- Two replicas, HAProxy, the fault proxy.
    Replica replicas[2];
    for (int i = 0; i < 2; ++i) {
        // Below the ephemeral range: the replicas come back on their ports
        // while HAProxy's checks keep connecting (tests/harness/loopback_port.h).
        replicas[i].port = stoa::testing::freeLoopbackPortBelowEphemeral();
        replicas[i].log = o.work + "/hub" + std::to_string(i + 1) + ".log";
        startReplica(hubBin, dataDir, url, replicas[i]);
    }
    const std::uint16_t front = stoa::testing::freeLoopbackPort(), statsPort = stoa::testing::freeLoopbackPort();
    pid_t haproxy = -1;
    {
        std::string cfg = "global\n  maxconn 8000\n"
                          "defaults\n  mode http\n  timeout connect 2s\n  timeout client 90s\n  timeout server 90s\n"
                          "  timeout http-request 10s\n  timeout http-keep-alive 10s\n"
                          "  retries 2\n  option redispatch\n  retry-on conn-failure\n" +
                          (o.lbRetryAfterS > 0 ? "  http-error status 503 content-type \"text/plain\" string \"no replica\\n\" hdr Retry-After " +
                                                     std::to_string(o.lbRetryAfterS) + "\n"
                                               : std::string()) +
                          "frontend stoa\n  bind 127.0.0.1:" + std::to_string(front) + "\n  default_backend hubs\n"
                          "frontend stats\n  bind 127.0.0.1:" + std::to_string(statsPort) +
                          "\n  stats enable\n  stats uri /stats\n"
                          "backend hubs\n  balance roundrobin\n  option httpchk GET /healthz\n  http-check expect status 200\n"
                          "  default-server inter " + std::to_string(o.checkInterMs) + "ms fall 2 rise 2\n";
        for (int i = 0; i < 2; ++i)
            cfg += "  server hub" + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(replicas[i].port) + " check\n";
        std::ofstream(o.work + "/haproxy.cfg") << cfg;
        haproxy = spawnChild({"haproxy", "-f", o.work + "/haproxy.cfg", "-db"}, o.work + "/haproxy.log");
        const std::int64_t end = monoNs() + 30'000'000'000LL;
        for (;;) {
            auto s = haproxyStats(statsPort);
            if (s.ok && s.serverStatus["hub1"] == "UP" && s.serverStatus["hub2"] == "UP")
                break;
            if (!alive(haproxy) || monoNs() > end)
                die("HAProxy did not come up with both replicas UP:\n" + readFile(o.work + "/haproxy.log"));
            ::usleep(100000); // the poll's pace
        }
    }
    pid_t proxy = -1;
    std::uint16_t proxyPort = 0;
    {
        const std::string log = o.work + "/fault_proxy.log";
        proxy = spawnChild({proxyBin, "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + std::to_string(front), "--latency-ms",
                       std::to_string(o.latencyMs), "--jitter-ms", std::to_string(o.jitterMs), "--drop",
                       std::to_string(o.drop), "--seed", std::to_string(o.seed)},
                      log);
        const std::int64_t end = monoNs() + 10'000'000'000LL;
        while (proxyPort == 0) {
            const std::string s = readFile(log);
            if (const auto at = s.find("listening on 127.0.0.1:"); at != std::string::npos)
                proxyPort = std::uint16_t(std::atoi(s.c_str() + at + 23));
            else if (!alive(proxy) || monoNs() > end)
                die("the fault proxy did not start: " + s);
            else
                ::usleep(20000); // the poll's pace
        }
    }
    std::printf("setup: replicas on 127.0.0.1:%u and :%u, HAProxy on :%u (stats :%u), fault proxy on :%u\n",
                replicas[0].port, replicas[1].port, front, statsPort, proxyPort);

    // --- Content: a schedule with this run's intervals; the signing key.
    std::string rootPem, etag;
    {
        const Result media = oneRequest(front, httpRequest("PUT", "/api/v1/media/logo.png", opToken,
                                                           std::string(reinterpret_cast<const char *>(kPng), sizeof kPng)));
        if (media.status != 200)
            die("PUT /api/v1/media/logo.png: " + std::to_string(media.status));
        const std::string schedule = "timezone = UTC\ndefault = main\nsync-interval = " + std::to_string(o.intervalS) +
                                     "s\nstatus-interval = " + std::to_string(o.intervalS) + "s\n\n[playlist main]\nlogo.png 8s\n";
        const Result sched = oneRequest(front, httpRequest("PUT", "/api/v1/schedules/fleet", opToken, schedule,
                                                           "Content-Type: text/plain\r\n"));
        if (sched.status != 200)
            die("PUT /api/v1/schedules/fleet: " + std::to_string(sched.status) + " " + sched.body);
        Pool one(front, 1);
        one.keepBody = true;
        Result key;
        one.done = [&](int, Result &&r) -> std::optional<std::string> {
            key = std::move(r);
            return std::nullopt;
        };
        one.submit(0, httpRequest("GET", "/api/v1/signing-key", opToken, {}));
        one.drain(30);
        rootPem = jsonField(key.body, "public_key_pem");
        if (rootPem.rfind("-----BEGIN PUBLIC KEY-----", 0) != 0)
            die("GET /api/v1/signing-key: " + std::to_string(key.status) + " " + key.body);
        const Result man = oneRequest(front, httpRequest("GET", "/v1/manifest.json", virtualDevices[0].second, {}));
        if (man.status != 200 || man.etag.empty())
            die("GET /v1/manifest.json: " + std::to_string(man.status));
        etag = man.etag;
        std::printf("setup: schedule published (sync-interval = status-interval = %d s), fleet manifest ETag %s\n",
                    o.intervalS, etag.c_str());
    }

    // --- The fleet: real syncd, then the virtual devices.
    std::vector<pid_t> syncd(std::size_t(o.syncd), -1);
    for (int d = 0; d < o.syncd; ++d) {
        const std::string dir = o.work + "/syncd/" + syncdDevices[std::size_t(d)].first;
        fs::create_directories(dir);
        std::ofstream(dir + "/token") << syncdDevices[std::size_t(d)].second << "\n";
        std::ofstream(dir + "/root.pub") << rootPem;
        std::ofstream(dir + "/stoa.conf") << "server = http://127.0.0.1:" << proxyPort << "\n"
                                          << "data_dir = " << dir << "/data\n"
                                          << "trusted_keys = " << dir << "/root.pub\n"
                                          << "token_file = " << dir << "/token\n"
                                          << "device_id = " << syncdDevices[std::size_t(d)].first << "\n"
                                          << "sync_interval_s = " << o.intervalS << "\n"
                                          << "status_interval_s = " << o.intervalS << "\n"
                                          << "min_free = 0\nscrub_rate = 0\nsyncd_listen = 127.0.0.1:0\n";
        syncd[std::size_t(d)] = spawnChild({syncdBin, "--config", dir + "/stoa.conf"}, dir + "/syncd.log");
        if (syncd[std::size_t(d)] < 0)
            die("cannot start stoa-syncd");
    }
    VirtualFleet fleet(proxyPort, o.connections, etag, interval, o.seed);
    for (const auto &[id, token] : virtualDevices)
        fleet.add(id, token);
    fleet.start();
    const std::int64_t t0 = monoNs();

    std::vector<Row> rows;
    HaproxyStats lastHa = haproxyStats(statsPort);
    Snapshot lastFleet = snap(fleet.counters);
    std::unique_ptr<Spike> spike;
    Counters measureCounters;
    Snapshot lastSpike;
    std::int64_t nextTick = monoNs() + 1'000'000'000LL;
    long syncdRssKb = 0;
    // One sample a second; `phase` labels the row.
    auto tick = [&](char phase) {
        const std::int64_t now = monoNs();
        if (now < nextTick)
            ::usleep(useconds_t((nextTick - now) / 1000));
        nextTick += 1'000'000'000LL;
        Row r;
        r.t = double(monoNs() - t0) / 1e9;
        r.phase = phase;
        const HaproxyStats ha = haproxyStats(statsPort);
        if (ha.ok) {
            r.feReq = delta(ha.reqTot, lastHa.reqTot);
            r.fe2xx = delta(ha.rsp2xx, lastHa.rsp2xx);
            r.fe5xx = delta(ha.rsp5xx, lastHa.rsp5xx);
            lastHa = ha;
        }
        for (const auto &[name, status] : ha.serverStatus)
            r.servers += name + "=" + status + " ";
        const Snapshot f = snap(fleet.counters);
        r.fleet = deltaOf(f, lastFleet);
        lastFleet = f;
        Snapshot sp = snap(measureCounters);
        if (spike) {
            const Snapshot s2 = snap(spike->counters);
            sp = {sp.written + s2.written, sp.ok + s2.ok,           sp.shed + s2.shed,
                  sp.other + s2.other,     sp.transport + s2.transport, sp.unsent + s2.unsent};
        }
        r.spike = deltaOf(sp, lastSpike);
        lastSpike = sp;
        for (int i = 0; i < 2; ++i) {
            r.rssKb[i] = rssKiB(replicas[i].pid, "VmRSS");
            replicas[i].peakRssKb = std::max(replicas[i].peakRssKb, r.rssKb[i]);
        }
        rows.push_back(r);
        if (rows.size() % 10 == 0 || phase == 'p' || phase == 'm')
            std::printf("  t=%4.0f %c front %5llu/s (2xx %5llu, 5xx %5llu) | fleet sent %5llu answered %5llu 503 %4llu err %4llu | "
                        "spike sent %5llu ok %5llu 503 %5llu err %4llu | RSS %ld / %ld MiB | %s| load %s\n",
                        r.t, phase, (unsigned long long)r.feReq, (unsigned long long)r.fe2xx, (unsigned long long)r.fe5xx,
                        (unsigned long long)r.fleet.written, (unsigned long long)r.fleet.ok,
                        (unsigned long long)r.fleet.shed, (unsigned long long)(r.fleet.transport + r.fleet.other),
                        (unsigned long long)r.spike.written, (unsigned long long)r.spike.ok,
                        (unsigned long long)r.spike.shed, (unsigned long long)(r.spike.transport + r.spike.other),
                        r.rssKb[0] / 1024, r.rssKb[1] / 1024, r.servers.c_str(), loadavg().c_str());
    };
    // Devices with a heartbeat stored at or after `sinceWallMs`: (syncd, virtual).
    auto reportedSince = [&](std::int64_t sinceWallMs) {
        std::pair<int, int> n{0, 0};
        const auto all = storage->devices();
        if (!all)
            return std::pair{-1, -1};
        for (const auto &d : *all)
            if (d.lastSeenAtMs && *d.lastSeenAtMs >= sinceWallMs)
                (d.id[0] == 's' ? n.first : n.second) += 1;
        return n;
    };

    // --- Warm-up: every syncd reported, one interval passed.
    std::printf("\nwarm-up: until every stoa-syncd has reported and %d s passed\n", o.intervalS);
    {
        const std::int64_t startWall = wallMs() - 1000;
        const std::int64_t end = monoNs() + std::int64_t(std::max(600, 5 * o.intervalS)) * 1'000'000'000LL;
        for (;;) {
            tick('w');
            const bool intervalPassed = monoNs() - t0 >= std::int64_t(o.intervalS) * 1'000'000'000LL;
            if (intervalPassed && rows.size() % 5 == 0) {
                const auto [s, v] = reportedSince(startWall);
                if (s == o.syncd)
                    break;
                if (monoNs() > end)
                    die("only " + std::to_string(s) + " of " + std::to_string(o.syncd) + " stoa-syncd reported during the warm-up");
            }
        }
        double cpu = 0;
        int running = 0;
        for (const pid_t pid : syncd) {
            syncdRssKb += rssKiB(pid, "VmRSS");
            cpu += processCpuS(pid);
            running += alive(pid) ? 1 : 0;
        }
        std::printf("warm-up done at t=%.0f s: %d of %d stoa-syncd running, together RSS %ld MiB, CPU %.1f s so far\n",
                    double(monoNs() - t0) / 1e9, running, o.syncd, syncdRssKb / 1024, cpu);
    }

    // --- Steady state.
    std::printf("\nsteady state: %d s\n", o.steadyS);
    const std::size_t steadyFrom = rows.size();
    for (int s = 0; s < o.steadyS; ++s)
        tick('s');
    const std::size_t steadyTo = rows.size();
    double steadyMean = 0;
    for (std::size_t i = steadyFrom; i < steadyTo; ++i)
        steadyMean += double(rows[i].feReq);
    steadyMean /= double(std::max<std::size_t>(1, steadyTo - steadyFrom));
    const double steadyPeak1 = busiest(rows, steadyFrom, steadyTo, 1), steadyPeak10 = busiest(rows, steadyFrom, steadyTo, 10);

    // --- The whole hub tier down.
    std::printf("\noutage: both replicas SIGKILLed for %d s (HAProxy stays up)\n", o.outageS);
    for (auto &r : replicas)
        endReplica(r, SIGKILL);
    for (int s = 0; s < o.outageS; ++s)
        tick('o');

    // --- Back.
    const std::int64_t backWall = wallMs();
    const std::int64_t backNs = monoNs();
    fleet.markRecovery(backNs);
    for (auto &r : replicas)
        startReplica(hubBin, dataDir, url, r);
    std::printf("\nrecovery: both replicas serving again %.1f s after the restart began\n", double(monoNs() - backNs) / 1e9);
    const std::size_t recoveryFrom = rows.size();
    double allBackS = -1, syncdBackS = -1, virtualBackS = -1;
    {
        const std::int64_t end = backNs + std::int64_t(o.afterMaxS) * 1'000'000'000LL;
        const std::int64_t minEnd = backNs + std::int64_t(2 * o.intervalS + 10) * 1'000'000'000LL;
        for (;;) {
            tick('r');
            if (rows.size() % 2 == 0 && allBackS < 0) {
                const auto [s, v] = reportedSince(backWall);
                const double t = double(monoNs() - backNs) / 1e9;
                if (s == o.syncd && syncdBackS < 0)
                    syncdBackS = t;
                if (v == o.devices && virtualBackS < 0)
                    virtualBackS = t;
                if (syncdBackS >= 0 && virtualBackS >= 0)
                    allBackS = t;
                if (rows.size() % 10 == 0)
                    std::printf("    reported again (database): stoa-syncd %d/%d, virtual %d/%d\n", s, o.syncd, v, o.devices);
            }
            if (monoNs() >= end || (allBackS >= 0 && monoNs() >= minEnd))
                break;
        }
    }
    const std::size_t recoveryTo = rows.size();
    const double recPeak1 = busiest(rows, recoveryFrom, recoveryTo, 1), recPeak10 = busiest(rows, recoveryFrom, recoveryTo, 10);
    const auto firstReports = fleet.firstReportsAfter(backNs);
    const long rssAfterRecovery[2] = {replicas[0].peakRssKb, replicas[1].peakRssKb};

    // --- The spike.
    double sustainable = o.sustainableRps;
    double drainS = -1;
    std::size_t spikeFrom = rows.size(), spikeTo = rows.size();
    bool replicaDied = false;
    long spikePeakRss[2] = {0, 0};
    std::uint64_t spikeOffered = 0, spikeAcked = 0, spikeRetryAfter = 0;
    if (o.spikeS > 0) {
        if (sustainable <= 0) {
            std::printf("\nmeasuring the sustainable ingest rate: %d s closed loop, %d connections, plays POSTs through "
                        "HAProxy, the fleet running\n",
                        o.measureS, o.measureConnections);
            std::thread m([&] {
                sustainable = measureSustainable(front, virtualDevices, o.measureConnections, o.measureS, measureCounters);
            });
            for (int s = 0; s < o.measureS; ++s)
                tick('m');
            m.join();
            tick('m');
            std::printf("sustainable: %.0f acknowledged plays POSTs per second (with the fleet's own load on top)\n", sustainable);
        }
        const double rate = sustainable * o.spikeFactor;
        std::printf("\nspike: %.0f plays POSTs per second offered (%.0fx %.0f) for %d s, straight to HAProxy, "
                    "%d connections; shed records sent again after Retry-After\n",
                    rate, o.spikeFactor, sustainable, o.spikeS, o.spikeConnections);
        spike = std::make_unique<Spike>(front, o.spikeConnections, virtualDevices, interval, o.seed + 1);
        lastSpike = snap(measureCounters);
        spikeFrom = rows.size();
        spike->start(rate, o.spikeS);
        while (spike->generating() || rows.size() - spikeFrom < std::size_t(o.spikeS)) {
            tick('p');
            for (int i = 0; i < 2; ++i) {
                spikePeakRss[i] = std::max(spikePeakRss[i], rows.back().rssKb[i]);
                replicaDied = replicaDied || !alive(replicas[i].pid);
            }
        }
        spikeTo = rows.size();
        const std::int64_t spikeEnd = monoNs();
        const std::int64_t end = spikeEnd + std::int64_t(o.drainMaxS) * 1'000'000'000LL;
        std::printf("\ndrain: until every spike record is acknowledged (at most %d s); outstanding at the end of the spike: %llu\n",
                    o.drainMaxS, (unsigned long long)spike->outstanding());
        while (spike->outstanding() > 0 && monoNs() < end) {
            tick('d');
            for (int i = 0; i < 2; ++i) {
                spikePeakRss[i] = std::max(spikePeakRss[i], rows.back().rssKb[i]);
                replicaDied = replicaDied || !alive(replicas[i].pid);
            }
        }
        if (spike->outstanding() == 0)
            drainS = double(monoNs() - spikeEnd) / 1e9;
        spike->stop();
        spikeOffered = spike->offered;
        spikeAcked = spike->acked;
        spikeRetryAfter = spike->withRetryAfter;
    }

    // --- Stop the fleet, then the replicas (SIGTERM: they finish what they acknowledged).
    fleet.stop();
    double syncdCpu = 0;
    for (pid_t &pid : syncd) {
        syncdCpu += processCpuS(pid);
        ::kill(pid, SIGTERM);
    }
    int syncdBad = 0;
    for (pid_t &pid : syncd)
        if (const std::string s = stopChild(pid, SIGTERM, 30); s != "exit 0")
            ++syncdBad;
    for (auto &r : replicas) {
        replicaDied = replicaDied || (o.spikeS > 0 && !alive(r.pid));
        endReplica(r, SIGTERM);
    }
    const double haproxyCpu = processCpuS(haproxy), proxyCpu = processCpuS(proxy);
    std::printf("\nstopped: stoa-syncd that did not exit 0 on SIGTERM: %d; replicas: hub1 %s; hub2 %s\n", syncdBad,
                replicas[0].exits.c_str(), replicas[1].exits.c_str());

    // --- Records lost: what a virtual device got a 2xx for, against the database.
    std::uint64_t hbAcked = 0, hbLost = 0, playsAcked = 0, playsLost = 0, spikeLost = 0;
    {
        const std::int64_t t = monoNs();
        std::unordered_map<std::string, std::unordered_set<std::string>> stored;
        const auto plays = storage->playsReceivedBetween(0, wallMs() + 3'600'000, 100'000'000);
        if (!plays)
            die("playsReceivedBetween: " + plays.error().message);
        for (const auto &p : *plays)
            stored[p.deviceId].insert(p.id);
        std::string firstLost;
        for (const auto &d : fleet.devices) {
            const auto &have = stored[d.id];
            for (const auto p : d.playsAcked) {
                ++playsAcked;
                if (!have.count(d.id + "-p" + std::to_string(p))) {
                    ++playsLost;
                    if (firstLost.empty())
                        firstLost = d.id + "-p" + std::to_string(p);
                }
            }
            const auto history = storage->statusHistory(d.id, 100000);
            if (!history)
                die("statusHistory: " + history.error().message);
            std::unordered_set<std::int64_t> versions;
            for (const auto &s : *history)
                if (s.manifestVersion)
                    versions.insert(*s.manifestVersion);
            for (const auto v : d.hbAcked) {
                ++hbAcked;
                if (!versions.count(v)) {
                    ++hbLost;
                    if (firstLost.empty())
                        firstLost = d.id + " heartbeat " + std::to_string(v);
                }
            }
        }
        if (spike) {
            for (const auto &[dev, recs] : spike->ackedIds()) {
                const std::string id = spike->deviceId(dev);
                for (const auto r : recs)
                    if (!stored[id].count(id + "-s" + std::to_string(r))) {
                        ++spikeLost;
                        if (firstLost.empty())
                            firstLost = id + "-s" + std::to_string(r);
                    }
            }
        }
        std::printf("records checked against the database in %.1f s%s%s\n", double(monoNs() - t) / 1e9,
                    firstLost.empty() ? "" : "; first lost: ", firstLost.c_str());
    }
    std::printf("fault proxy: %s", readFile(o.work + "/fault_proxy.log").substr(
                                          readFile(o.work + "/fault_proxy.log").rfind("fault_proxy: accepted")).c_str());
    stopChild(proxy);
    stopChild(haproxy);
    int downs = 0, checkTimeouts = 0, noServer = 0;
    {
        std::istringstream log(readFile(o.work + "/haproxy.log"));
        std::string line;
        while (std::getline(log, line)) {
            if (line.find(" is DOWN") != std::string::npos) {
                ++downs;
                checkTimeouts += line.find("Layer7 timeout") != std::string::npos ? 1 : 0;
            }
            noServer += line.find("has no server available") != std::string::npos ? 1 : 0;
        }
    }

    // --- Per-second table and plot.
    {
        std::ofstream csv(o.work + "/rates.csv");
        csv << "t,phase,front_req,front_2xx,front_5xx,fleet_sent,fleet_ok,fleet_503,fleet_err,spike_sent,spike_ok,spike_503,"
               "spike_err,rss_hub1_kb,rss_hub2_kb\n";
        for (const auto &r : rows)
            csv << r.t << ',' << r.phase << ',' << r.feReq << ',' << r.fe2xx << ',' << r.fe5xx << ',' << r.fleet.written
                << ',' << r.fleet.ok << ',' << r.fleet.shed << ',' << r.fleet.transport + r.fleet.other << ','
                << r.spike.written << ',' << r.spike.ok << ',' << r.spike.shed << ',' << r.spike.transport + r.spike.other
                << ',' << r.rssKb[0] << ',' << r.rssKb[1] << '\n';
        std::printf("per-second figures: %s/rates.csv\n", o.work.c_str());
    }
    char title[256];
    std::snprintf(title, sizeof title,
                  "fleet_rehearsal: %d stoa-syncd + %d virtual devices, interval %d s, hub tier down %d s, spike %d s at %.0fx",
                  o.syncd, o.devices, o.intervalS, o.outageS, o.spikeS, o.spikeFactor);
    drawPlot(std::vector<Row>(rows.begin(), rows.begin() + std::ptrdiff_t(recoveryTo)), o.plot, title, steadyMean);
    if (o.spikeS > 0 && recoveryTo < rows.size()) {
        std::string spikePlot = o.plot;
        const auto dot = spikePlot.rfind(".png");
        spikePlot.insert(dot == std::string::npos ? spikePlot.size() : dot, "_spike");
        drawPlot(std::vector<Row>(rows.begin() + std::ptrdiff_t(recoveryTo), rows.end()), spikePlot, title, 0);
    }

    if (o.spikeS > 0) {
        std::printf("\nspike, per second (p = spike, d = drain): offered new records, sent, served 2xx, shed 503 (+ 429), "
                    "other, transport errors, attempts not sent (generator behind: queue full), RSS hub1/hub2 MiB\n");
        const std::uint64_t perS = std::uint64_t(sustainable * o.spikeFactor);
        for (std::size_t i = spikeFrom; i < rows.size(); ++i) {
            const Row &r = rows[i];
            std::printf("  %4.0f %c offered %6llu sent %6llu served %6llu shed %6llu other %4llu err %5llu unsent %6llu  "
                        "RSS %4ld / %4ld\n",
                        r.t, r.phase, (unsigned long long)(i < spikeTo ? perS : 0), (unsigned long long)r.spike.written,
                        (unsigned long long)r.spike.ok, (unsigned long long)r.spike.shed,
                        (unsigned long long)r.spike.other, (unsigned long long)r.spike.transport,
                        (unsigned long long)r.spike.unsent, r.rssKb[0] / 1024,
                        r.rssKb[1] / 1024);
        }
    }

    // --- Summary.
    auto secs = [](double s) { return s < 0 ? std::string("never") : std::to_string(int(std::lround(s))) + " s"; };
    std::printf("\n=== fleet_rehearsal summary (load average now %s) ===\n", loadavg().c_str());
    std::printf("fleet: %d stoa-syncd (RSS together %ld MiB, CPU %.0f s) + %d virtual devices (generator thread CPU %.0f s, "
                "peak %d connections, peak queue %zu); interval %d s\n",
                o.syncd, syncdRssKb / 1024, syncdCpu, o.devices, fleet.cpuS(), fleet.openPeak(), fleet.queuedPeak(), o.intervalS);
    std::printf("steady: %.1f requests/s at HAProxy's front (busiest 1 s %.0f, 10 s %.1f)\n", steadyMean, steadyPeak1, steadyPeak10);
    std::printf("outage: %d s, whole hub tier down (SIGKILL)\n", o.outageS);
    std::printf("recovery: busiest 1 s %.0f/s = %.2f x steady; busiest 10 s %.1f/s = %.2f x steady (target <= 2.0)\n",
                recPeak1, recPeak1 / std::max(1e-9, steadyMean), recPeak10, recPeak10 / std::max(1e-9, steadyMean));
    std::printf("reported again (heartbeat stored, database): every stoa-syncd after %s, every virtual device after %s, "
                "every device after %s (target: within 2 intervals = %d s)\n",
                secs(syncdBackS).c_str(), secs(virtualBackS).c_str(), secs(allBackS).c_str(), 2 * o.intervalS);
    std::printf("virtual devices' own clock (first acknowledged heartbeat): 50 %% %s, 90 %% %s, 99 %% %s, all %s\n",
                pct(firstReports, 0.5, backNs, firstReports.size()).c_str(),
                pct(firstReports, 0.9, backNs, firstReports.size()).c_str(),
                pct(firstReports, 0.99, backNs, firstReports.size()).c_str(),
                pct(firstReports, 1.0, backNs, firstReports.size()).c_str());
    std::printf("records lost: heartbeats %llu of %llu acknowledged, plays %llu of %llu acknowledged, spike records %llu of "
                "%llu acknowledged (target 0; the real syncd's own records not counted)\n",
                (unsigned long long)hbLost, (unsigned long long)hbAcked, (unsigned long long)playsLost,
                (unsigned long long)playsAcked, (unsigned long long)spikeLost, (unsigned long long)spikeAcked);
    std::printf("peak hub RSS through the recovery: hub1 %ld MiB, hub2 %ld MiB (stoa-hub.service MemoryMax 512M)\n",
                rssAfterRecovery[0] / 1024, rssAfterRecovery[1] / 1024);
    if (o.spikeS > 0) {
        std::uint64_t served = 0, shed = 0, sent = 0, unsent = 0;
        for (std::size_t i = spikeFrom; i < spikeTo; ++i) {
            unsent += rows[i].spike.unsent;
            served += rows[i].spike.ok;
            shed += rows[i].spike.shed;
            sent += rows[i].spike.written;
        }
        const double n = double(std::max<std::size_t>(1, spikeTo - spikeFrom));
        std::printf("spike: sustainable %.0f/s, offered %.0f/s for %d s (%llu records); during it per second: sent %.0f, "
                    "served %.0f, shed %.0f, attempts not sent (generator behind) %.0f; answers with Retry-After %llu\n",
                    sustainable, sustainable * o.spikeFactor, o.spikeS, (unsigned long long)spikeOffered, double(sent) / n,
                    double(served) / n, double(shed) / n, double(unsent) / n, (unsigned long long)spikeRetryAfter);
        std::printf("spike: peak RSS hub1 %ld MiB, hub2 %ld MiB (sampled each second; whole-run peak incl. VmHWM: %ld / %ld MiB); "
                    "a replica died: %s; backlog drained %s after the spike (%llu of %llu acknowledged)\n",
                    spikePeakRss[0] / 1024, spikePeakRss[1] / 1024, replicas[0].peakRssKb / 1024,
                    replicas[1].peakRssKb / 1024, replicaDied ? "YES" : "no", secs(drainS).c_str(),
                    (unsigned long long)spikeAcked, (unsigned long long)spikeOffered);
    }
    std::printf("HAProxy took a replica out %d times (%d of them a /healthz check timing out after %d ms, the others the "
                "outage's refused connections); no replica up at all %d times (the outage is one)\n",
                downs, checkTimeouts, o.checkInterMs, noServer);
    std::printf("CPU seconds: replicas %.0f + %.0f, HAProxy %.0f, fault proxy %.0f, stoa-syncd together %.0f\n",
                replicas[0].cpuS, replicas[1].cpuS, haproxyCpu, proxyCpu, syncdCpu);
    std::printf("fleet_rehearsal took %.0f s; logs in %s\n", double(monoNs() - benchStart) / 1e9, o.work.c_str());
    storage.reset();
    return 0;
}
