// bench/sync_bench.cpp — the real stoa-syncd against a real nginx on loopback.
//
// Three figures (docs/benchmarks.md):
//  (a) throughput: N blobs of M MiB downloaded by stoa-syncd (first blob
//      request to activation, so hashing, fsync and activation count) versus
//      curl fetching the same URLs in the same run with the same parallelism,
//      writing to files on the same filesystem (no fsync: curl's side is the
//      easier one); prints both rates and agent/curl;
//  (b) bytes fetched again after a cut: stoa-syncd is stopped (SIGSTOP) once
//      ~50 % of a large blob is on disk, its socket is read with ss(8) (bytes
//      received, bytes unread), it is SIGKILLed and restarted; prints the
//      bytes that reached the device beyond the blob's size (cut request as
//      the socket saw it + the resumed requests from nginx's log), where they
//      were lost, and nginx's own count for comparison;
//  (c) peak RSS of stoa-syncd (VmHWM just before it is stopped, and the
//      largest VmRSS polled meanwhile) while it syncs a manifest of G GiB.
// Sizes scale with options; the defaults are the sizes. The media are
// pseudo-random bytes published with the real `stoa publish`.
#include "cache/store.h"
#include "nginx_server.h"
#include "process_probe.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

using stoa::testing::AccessRecord;
using stoa::testing::NginxServer;
using stoa::endpoints::testing::procStatusKiB;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

struct Options {
    int blobs = 8;             // (a)
    int blobMiB = 128;         // (a)
    int cutMiB = 1024;         // (b)
    double rssGiB = 2.0;       // (c)
    int rssBlobMiB = 128;      // (c): the manifest is made of blobs this big
    int parallel = 3;          // agent parallel_downloads and curl --parallel-max
    int rounds = 3;            // (a): curl and agent runs, alternating
    QString only = "abc";
    QString work;              // default: a temporary directory
};

[[noreturn]] void die(const QString &why)
{
    std::fprintf(stderr, "sync_bench: %s\n", qPrintable(why));
    std::exit(1);
}

double now() { return double(QDateTime::currentMSecsSinceEpoch()) / 1000.0; }

QString run(const QString &program, const QStringList &args)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForFinished(-1) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        die(program + " " + args.join(' ') + " failed:\n" + QString::fromLocal8Bit(p.readAll()));
    return QString::fromLocal8Bit(p.readAll());
}

void writeRandomFile(const QString &path, std::uint64_t bytes, std::uint64_t seed)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        die("cannot write " + path);
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> chunk(kMiB / 8);
    for (std::uint64_t done = 0; done < bytes;) {
        for (auto &w : chunk)
            w = rng();
        const std::uint64_t n = std::min<std::uint64_t>(kMiB, bytes - done);
        if (f.write(reinterpret_cast<const char *>(chunk.data()), qint64(n)) != qint64(n))
            die("cannot write " + path);
        done += n;
    }
}

// A published site with `count` video blobs of `bytes` each; returns their URIs.
struct Site {
    QString dir;
    QStringList blobUris; // "/v1/blobs/sha256/<hex>"
};

Site publishSite(const QString &root, const QString &key, int count, std::uint64_t bytes, std::uint64_t seed)
{
    const QString source = root + "/source";
    QDir().mkpath(source);
    QString ini = "timezone = Europe/Oslo\ndefault = loop\n\n[playlist loop]\n";
    for (int i = 0; i < count; ++i) {
        const QString name = QStringLiteral("v%1.mp4").arg(i);
        writeRandomFile(source + "/" + name, bytes, seed + std::uint64_t(i));
        ini += name + "\n";
    }
    QFile f(source + "/schedule.ini");
    if (!f.open(QIODevice::WriteOnly) || f.write(ini.toUtf8()) < 0)
        die("cannot write schedule.ini");
    f.close();
    Site site{root + "/site", {}};
    run(STOA_BIN, {"publish", "--key", key, "--source", source, "--out", site.dir});
    QDir blobs(site.dir + "/v1/blobs/sha256");
    for (const QString &hex : blobs.entryList(QDir::Files))
        site.blobUris << "/v1/blobs/sha256/" + hex;
    QDir(source).removeRecursively(); // the site has its own copies
    NginxServer::openUpTree(site.dir);
    return site;
}

// The agent on a fresh store, plus the bench's own Store to watch it.
class Agent {
public:
    Agent(QString data, QString url, QString keys, int parallel)
        : m_data(std::move(data)), m_url(std::move(url)), m_keys(std::move(keys)), m_parallel(parallel)
    {
        stoa::cache::StoreOptions o;
        o.dataDir = m_data.toStdString();
        auto s = stoa::cache::Store::open(o);
        if (!s)
            die(QString::fromStdString("store: " + s.error().message));
        m_store = std::move(*s);
    }
    ~Agent()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    void start()
    {
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.setStandardOutputFile(m_data + "/../syncd.log", QIODevice::Append);
        m_process.start(STOA_SYNCD, {"--config", "/dev/null", "--server", m_url, "--data-dir", m_data,
                                     "--trusted-keys", m_keys, "--device-id", "bench-1",
                                     "--set", "sync_interval_s=0.5", "--set", "backoff_base_s=0.05",
                                     "--set", "backoff_cap_s=1", "--set", "status_interval_s=3600",
                                     "--set", QStringLiteral("parallel_downloads=%1").arg(m_parallel),
                                     "--set", "min_free=64M"});
        if (!m_process.waitForStarted(10000))
            die("cannot start stoa-syncd");
    }
    qint64 pid() const { return m_process.processId(); }
    bool active() const
    {
        auto m = m_store->manifests().get(stoa::cache::Slot::Active);
        return m && *m;
    }
    // Bytes of partial downloads in the store's tmp/.
    std::uint64_t partialBytes() const
    {
        std::uint64_t n = 0;
        QDirIterator it(m_data + "/tmp", QDir::Files);
        while (it.hasNext()) {
            it.next();
            n += std::uint64_t(it.fileInfo().size());
        }
        return n;
    }
    void kill9()
    {
        ::kill(pid_t(m_process.processId()), SIGKILL);
        m_process.waitForFinished(10000);
    }
    void terminate()
    {
        m_process.terminate();
        if (!m_process.waitForFinished(30000))
            die("stoa-syncd did not stop on SIGTERM");
    }
    bool running() const { return m_process.state() == QProcess::Running; }

private:
    QString m_data, m_url, m_keys;
    int m_parallel;
    std::unique_ptr<stoa::cache::Store> m_store;
    QProcess m_process;
};

// CPU seconds (user, system) a process has used so far, from /proc/PID/stat.
std::pair<double, double> cpuSeconds(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return {0, 0};
    const QByteArray stat = f.readAll();
    // Fields after the ")" closing the command name; utime and stime are 14 and 15.
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    const double tick = double(::sysconf(_SC_CLK_TCK));
    return {fields.value(11).toDouble() / tick, fields.value(12).toDouble() / tick};
}

void waitActive(Agent &agent, double timeoutS, const std::function<void()> &tick = {})
{
    const double until = now() + timeoutS;
    while (!agent.active()) {
        if (!agent.running())
            die("stoa-syncd exited; see its log");
        if (now() > until)
            die("no activation within the time limit");
        if (tick)
            tick();
        QThread::msleep(5);
    }
}

std::uint64_t freeBytes(const QString &dir)
{
    struct statvfs s {};
    if (::statvfs(QFile::encodeName(dir).constData(), &s) != 0)
        return 0;
    return std::uint64_t(s.f_bavail) * s.f_frsize;
}

// --- (a) throughput

// fsync(2) each file; what the agent does for every blob before it counts.
void fsyncFiles(const QString &dir)
{
    for (const QString &name : QDir(dir).entryList(QDir::Files)) {
        QFile f(dir + "/" + name);
        if (!f.open(QIODevice::ReadWrite) || ::fsync(f.handle()) != 0)
            die("cannot fsync " + f.fileName());
    }
}

struct ThroughputRound {
    double curlS = 0;      // curl's process, start to exit
    double curlFsyncS = 0; // ... plus fsync of each file it wrote
    double agentS = 0;     // the agent's first blob request to activation
    double lastByteS = 0;  // the agent's first blob request to nginx's last blob byte
    double startupS = 0;   // agent process start to its first blob request
    double userS = 0, sysS = 0; // the agent's CPU, whole process
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

void benchThroughput(const Options &o, const QString &work, const QString &key, const QString &pub)
{
    const std::uint64_t size = std::uint64_t(o.blobMiB) * kMiB;
    const std::uint64_t total = size * std::uint64_t(o.blobs);
    const double mib = double(total) / double(kMiB);
    std::printf("(a) throughput: %d blobs x %d MiB = %.2f GiB, parallel %d, %d rounds (curl and stoa-syncd "
                "alternating)\n",
                o.blobs, o.blobMiB, double(total) / double(1024 * kMiB), o.parallel, o.rounds);
    std::printf("    curl = curl --parallel --parallel-max %d -o FILE URL ... into the store's filesystem;\n"
                "    curl+fsync = then fsync(2) of each file; stoa-syncd = its first blob request to activation\n",
                o.parallel);
    const QString root = work + "/a";
    Site site = publishSite(root, key, o.blobs, size, 1000);
    NginxServer nginx(root + "/nginx", site.dir);
    if (auto ok = nginx.start(); !ok)
        die(ok.error());

    auto runCurl = [&](ThroughputRound &r) {
        const QString curlDir = root + "/curl";
        QDir().mkpath(curlDir);
        QStringList args = {"--silent", "--show-error", "--fail", "--no-progress-meter", "--parallel",
                            "--parallel-max", QString::number(o.parallel)};
        for (const QString &uri : site.blobUris)
            args << "-o" << curlDir + "/" + uri.section('/', -1) << nginx.baseUrl() + uri;
        QElapsedTimer t;
        t.start();
        run("curl", args);
        r.curlS = double(t.nsecsElapsed()) / 1e9;
        fsyncFiles(curlDir);
        r.curlFsyncS = double(t.nsecsElapsed()) / 1e9;
        QDir(curlDir).removeRecursively();
    };
    auto runAgent = [&](ThroughputRound &r) {
        // Only this run's requests: the log also holds curl's and earlier rounds'.
        const qsizetype mark = nginx.accessLog().size();
        const QString data = root + "/data";
        {
            Agent agent(data, nginx.baseUrl(), pub, o.parallel);
            const double startedAt = now();
            agent.start();
            waitActive(agent, 600);
            const double activeAt = now();
            double firstStart = 1e300, lastEnd = 0;
            const QList<AccessRecord> log = nginx.accessLog();
            for (qsizetype i = mark; i < log.size(); ++i)
                if (log[i].uri.startsWith("/v1/blobs/")) {
                    firstStart = std::min(firstStart, log[i].msec - log[i].requestTime);
                    lastEnd = std::max(lastEnd, log[i].msec);
                }
            r.agentS = activeAt - firstStart;
            r.lastByteS = lastEnd - firstStart;
            r.startupS = firstStart - startedAt;
            std::tie(r.userS, r.sysS) = cpuSeconds(agent.pid());
            agent.terminate();
        }
        QDir(data).removeRecursively();
    };

    std::vector<ThroughputRound> rounds(std::size_t(o.rounds));
    for (std::size_t i = 0; i < rounds.size(); ++i) {
        ThroughputRound &r = rounds[i];
        // Alternate who goes first, so neither always meets the other's
        // leftovers (write-back of freed pages, a warmer cache).
        for (int turn = 0; turn < 2; ++turn) {
            ::sync(); // nobody's dirty pages left when a timed part starts
            if ((turn == 0) == (i % 2 == 0))
                runCurl(r);
            else
                runAgent(r);
        }
        std::printf("    round %zu: curl %5.2f s %6.1f MiB/s | curl+fsync %5.2f s %6.1f MiB/s | stoa-syncd %5.2f s "
                    "%6.1f MiB/s (last byte at %.2f s; start-up %.2f s before; CPU %.2f user + %.2f sys) | "
                    "ratio %.2f, %.2f with fsync\n",
                    i + 1, r.curlS, mib / r.curlS, r.curlFsyncS, mib / r.curlFsyncS, r.agentS, mib / r.agentS,
                    r.lastByteS, r.startupS, r.userS, r.sysS, r.curlS / r.agentS, r.curlFsyncS / r.agentS);
        std::fflush(stdout);
    }
    std::vector<double> ratio, ratioFsync, curlRate, agentRate;
    for (const auto &r : rounds) {
        ratio.push_back(r.curlS / r.agentS);
        ratioFsync.push_back(r.curlFsyncS / r.agentS);
        curlRate.push_back(mib / r.curlS);
        agentRate.push_back(mib / r.agentS);
    }
    auto range = [](const std::vector<double> &v) {
        return std::make_pair(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
    };
    std::printf("    curl %.0f MiB/s, stoa-syncd %.0f MiB/s (medians)\n", median(curlRate), median(agentRate));
    std::printf("    ratio stoa-syncd/curl: median %.2f, range %.2f-%.2f (target >= 0.9); "
                "stoa-syncd/(curl+fsync): median %.2f, range %.2f-%.2f\n",
                median(ratio), range(ratio).first, range(ratio).second, median(ratioFsync), range(ratioFsync).first,
                range(ratioFsync).second);
    (void)nginx.stop();
    QDir(root).removeRecursively();
}

// --- (b) bytes fetched again after a cut

// The device side of the agent's connections to `port`, from ss(8):
// bytes_received (all that reached the agent's kernel, headers included) of
// the busiest one, and the bytes still unread in its receive queue.
struct SocketView {
    std::uint64_t received = 0;
    std::uint64_t unread = 0;
};

SocketView agentSocket(quint16 port)
{
    QProcess ss;
    ss.start("ss", {"-tinH", "state", "established", "dst", QStringLiteral("127.0.0.1:%1").arg(port)});
    if (!ss.waitForFinished(10000) || ss.exitCode() != 0)
        die("ss (iproute2) failed; it is needed to see what reached the agent's socket");
    // One socket is two lines: "Recv-Q Send-Q local peer", then its tcp_info.
    const QStringList lines = QString::fromLocal8Bit(ss.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
    static const QRegularExpression receivedRe("bytes_received:(\\d+)");
    SocketView best;
    std::uint64_t unread = 0;
    for (const QString &line : lines) {
        if (!line.startsWith(' ') && !line.startsWith('\t')) {
            unread = line.simplified().section(' ', 0, 0).toULongLong();
            continue;
        }
        const auto m = receivedRe.match(line);
        if (m.hasMatch() && m.captured(1).toULongLong() >= best.received)
            best = {m.captured(1).toULongLong(), unread};
    }
    return best;
}

void benchCut(const Options &o, const QString &work, const QString &key, const QString &pub)
{
    const std::uint64_t size = std::uint64_t(o.cutMiB) * kMiB;
    std::printf("(b) cut at ~50 %%: one blob of %d MiB; SIGSTOP, look at the socket, SIGKILL; restart\n", o.cutMiB);
    const QString root = work + "/b";
    Site site = publishSite(root, key, 1, size, 2000);
    NginxServer nginx(root + "/nginx", site.dir);
    if (auto ok = nginx.start(); !ok)
        die(ok.error());
    std::uint64_t seenBeforeKill = 0;
    SocketView socket;
    {
        Agent agent(root + "/data", nginx.baseUrl(), pub, o.parallel);
        agent.start();
        const double until = now() + 600;
        while ((seenBeforeKill = agent.partialBytes()) < size / 2) {
            if (!agent.running() || agent.active() || now() > until)
                die("the blob finished (or the agent stopped) before the cut; use a larger --cut-mib");
            QThread::usleep(500);
        }
        // Frozen, the agent reads nothing more while nginx goes on sending
        // until the receive window is full: what ss then shows is the most a
        // kill at that moment could lose from the socket (worst case).
        ::kill(pid_t(agent.pid()), SIGSTOP);
        for (SocketView last{1, 1}; socket.received != last.received || socket.unread != last.unread;) {
            last = socket;
            QThread::msleep(50);
            socket = agentSocket(nginx.port());
        }
        agent.kill9();
    }
    Agent agent(root + "/data", nginx.baseUrl(), pub, o.parallel);
    const std::uint64_t partialAfter = agent.partialBytes();
    agent.start();
    waitActive(agent, 600);
    agent.terminate();

    std::int64_t sent = 0, resumed = 0;
    int requests = 0;
    for (const AccessRecord &r : nginx.accessLog()) {
        if (r.uri != site.blobUris.value(0))
            continue;
        ++requests;
        sent += r.bodyBytes;
        if (requests > 1)
            resumed += r.bodyBytes;
        std::printf("    request %d: status %d, body bytes sent %lld, %s, Range %s\n", requests, r.status,
                    static_cast<long long>(r.bodyBytes), r.completed ? "complete" : "cut",
                    r.range.isEmpty() ? "none" : qPrintable(r.range));
    }
    if (requests < 2)
        die("expected the cut request and a resumed one in nginx's log");
    // Reached the device: what the agent's socket received in the cut
    // request (ss) plus the resumed requests' bodies (complete, so delivered).
    const std::int64_t reached = std::int64_t(socket.received) + resumed;
    const std::int64_t again = reached - std::int64_t(size);
    const std::int64_t lostInProcess =
        std::int64_t(socket.received) - std::int64_t(socket.unread) - std::int64_t(partialAfter);
    std::printf("    partial on disk: %.2f MiB last seen before the cut, %llu bytes at restart (where the resume "
                "starts)\n",
                double(seenBeforeKill) / double(kMiB), static_cast<unsigned long long>(partialAfter));
    std::printf("    agent's socket at the cut: %llu bytes received (headers included), %llu of them unread\n",
                static_cast<unsigned long long>(socket.received), static_cast<unsigned long long>(socket.unread));
    std::printf("    lost at the cut: %llu bytes unread in the socket + %lld read but not yet in the partial\n",
                static_cast<unsigned long long>(socket.unread), static_cast<long long>(lostInProcess));
    std::printf("    fetched again: %lld bytes (%.2f MiB) reached the device beyond the blob's %llu (target < 1 MB)\n",
                static_cast<long long>(again), double(again) / double(kMiB), static_cast<unsigned long long>(size));
    std::printf("    nginx's count: %lld bytes sent beyond the blob's size (includes what sat in nginx's own socket "
                "buffer, never delivered)\n",
                static_cast<long long>(sent - std::int64_t(size)));
    (void)nginx.stop();
    QDir(root).removeRecursively();
}

// --- (c) peak RSS

void benchRss(const Options &o, const QString &work, const QString &key, const QString &pub)
{
    const std::uint64_t blob = std::uint64_t(o.rssBlobMiB) * kMiB;
    const int count = std::max(1, int(std::llround(o.rssGiB * 1024.0 / o.rssBlobMiB)));
    std::printf("(c) peak RSS: a manifest of %d blobs x %d MiB = %.2f GiB\n", count, o.rssBlobMiB,
                double(blob) * count / double(1024 * kMiB));
    const QString root = work + "/c";
    Site site = publishSite(root, key, count, blob, 3000);
    NginxServer nginx(root + "/nginx", site.dir);
    if (auto ok = nginx.start(); !ok)
        die(ok.error());
    Agent agent(root + "/data", nginx.baseUrl(), pub, o.parallel);
    agent.start();
    qint64 maxRss = 0;
    waitActive(agent, 1200, [&] { maxRss = std::max(maxRss, procStatusKiB(agent.pid(), "VmRSS")); });
    const qint64 hwm = procStatusKiB(agent.pid(), "VmHWM");
    agent.terminate();
    std::printf("    stoa-syncd VmHWM %.1f MiB, largest VmRSS polled %.1f MiB (target < 64 MB)\n", double(hwm) / 1024.0,
                double(maxRss) / 1024.0);
    (void)nginx.stop();
    QDir(root).removeRecursively();
}

Options parse(const QStringList &args)
{
    Options o;
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString a = args[i];
        auto value = [&] {
            if (i + 1 >= args.size())
                die(a + " needs a value");
            return args[++i];
        };
        if (a == "--blobs") o.blobs = value().toInt();
        else if (a == "--blob-mib") o.blobMiB = value().toInt();
        else if (a == "--cut-mib") o.cutMiB = value().toInt();
        else if (a == "--rss-gib") o.rssGiB = value().toDouble();
        else if (a == "--rss-blob-mib") o.rssBlobMiB = value().toInt();
        else if (a == "--parallel") o.parallel = value().toInt();
        else if (a == "--rounds") o.rounds = value().toInt();
        else if (a == "--only") o.only = value();
        else if (a == "--work") o.work = value();
        else {
            std::printf("usage: sync_bench [--blobs N] [--blob-mib M] [--cut-mib M] [--rss-gib G] [--rss-blob-mib M]\n"
                        "                  [--parallel N] [--rounds N] [--only abc] [--work DIR]\n"
                        "defaults: 8 x 128 MiB, cut 1024 MiB, RSS 2 GiB of 128 MiB blobs, parallel 3, 3 rounds\n");
            std::exit(a == "--help" ? 0 : 2);
        }
    }
    if (o.blobs < 1 || o.blobMiB < 1 || o.cutMiB < 2 || o.rssGiB <= 0 || o.rssBlobMiB < 1 || o.parallel < 1 ||
        o.parallel > 16 || o.rounds < 1)
        die("sizes must be positive (cut >= 2 MiB), parallel 1..16");
    return o;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const Options o = parse(app.arguments());
    if (NginxServer::findBinary().isEmpty())
        die("nginx is not installed (Debian package: nginx)");

    QTemporaryDir tmp(o.work.isEmpty() ? QDir::tempPath() + "/sync_bench-XXXXXX" : o.work + "/sync_bench-XXXXXX");
    if (!tmp.isValid())
        die("cannot create a work directory");
    NginxServer::openUpTree(tmp.path()); // nginx's workers run as www-data
    const QString work = tmp.path();

    // Each part needs its site plus the store's copy (and curl's for (a)).
    std::uint64_t need = 0;
    if (o.only.contains('a')) need = std::max(need, 3 * std::uint64_t(o.blobs) * std::uint64_t(o.blobMiB) * kMiB);
    if (o.only.contains('b')) need = std::max(need, 2 * std::uint64_t(o.cutMiB) * kMiB);
    if (o.only.contains('c')) need = std::max(need, std::uint64_t(2.0 * o.rssGiB * 1024.0) * kMiB);
    if (freeBytes(work) < need + 1024 * kMiB)
        die(QStringLiteral("needs %1 GiB free under %2 (has %3 GiB); scale down with the options")
                .arg(double(need) / double(1024 * kMiB), 0, 'f', 1)
                .arg(work)
                .arg(double(freeBytes(work)) / double(1024 * kMiB), 0, 'f', 1));

    run(STOA_BIN, {"keygen", "--out", work + "/root"});
    const QString key = work + "/root.key", pub = work + "/root.pub";
    std::printf("sync_bench: stoa-syncd %s vs nginx %s on loopback, work dir %s\n", STOA_SYNCD,
                qPrintable(NginxServer::findBinary()), qPrintable(work));
    std::fflush(stdout);
    if (o.only.contains('a')) benchThroughput(o, work, key, pub);
    std::fflush(stdout);
    if (o.only.contains('b')) benchCut(o, work, key, pub);
    std::fflush(stdout);
    if (o.only.contains('c')) benchRss(o, work, key, pub);
    return 0;
}
