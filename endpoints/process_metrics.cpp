// endpoints/process_metrics.cpp — see process_metrics.h.
#include "endpoints/process_metrics.h"

#include "endpoints/logging.h"

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace stoa::endpoints {

namespace {

struct ProcStat {
    double cpuSeconds = 0;
    double startTicks = 0; // clock ticks after boot
    double virtualBytes = 0;
    double threads = 0;
};

// /proc/self/stat: the command name (field 2) may contain spaces and ')', so
// fields are counted from the last ')'.
std::optional<ProcStat> readStat()
{
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line))
        return std::nullopt;
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(line.substr(close + 1));
    // After ')': field 3 (state) is the first one.
    std::string f;
    ProcStat s;
    double utime = 0, stime = 0;
    for (int field = 3; field <= 23 && fields >> f; ++field) {
        try {
            switch (field) {
            case 14: utime = std::stod(f); break;
            case 15: stime = std::stod(f); break;
            case 20: s.threads = std::stod(f); break;
            case 22: s.startTicks = std::stod(f); break;
            case 23: s.virtualBytes = std::stod(f); break;
            default: break;
            }
        } catch (...) {
            return std::nullopt;
        }
    }
    const long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return std::nullopt;
    s.cpuSeconds = (utime + stime) / double(hz);
    s.startTicks /= double(hz); // now seconds after boot
    return s;
}

std::optional<double> readRssBytes()
{
    std::ifstream in("/proc/self/statm");
    double size = 0, resident = 0;
    if (!(in >> size >> resident))
        return std::nullopt;
    return resident * double(sysconf(_SC_PAGESIZE));
}

std::optional<double> readBootTime()
{
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double t = 0;
            if (in >> t)
                return t;
            return std::nullopt;
        }
        in.ignore(1 << 20, '\n');
    }
    return std::nullopt;
}

std::optional<double> countOpenFds()
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return std::nullopt;
    double n = 0;
    while (const dirent *e = readdir(dir)) {
        if (e->d_name[0] != '.')
            ++n;
    }
    closedir(dir);
    return n - 1; // the directory stream's own descriptor
}

} // namespace

Result<MetricsRegistry::CollectorId> addProcessMetrics(MetricsRegistry &registry)
{
    auto rss = registry.gauge("stoa_process_resident_memory_bytes", "Resident memory size in bytes.");
    auto vsz = registry.gauge("stoa_process_virtual_memory_bytes", "Virtual memory size in bytes.");
    auto cpu = registry.counter("stoa_process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.");
    auto start = registry.gauge("stoa_process_start_time_seconds",
                                "Start time of the process since the Unix epoch in seconds.");
    auto fds = registry.gauge("stoa_process_open_fds", "Number of open file descriptors.");
    auto threads = registry.gauge("stoa_process_threads", "Number of threads of the process.");
    for (const auto *g : {&rss, &vsz, &start, &fds, &threads}) {
        if (!*g)
            return std::unexpected(g->error());
    }
    if (!cpu)
        return std::unexpected(cpu.error());

    // The start time is fixed; boot time is read once (it only moves if the
    // clock is stepped, and the start instant did not move with it).
    auto warned = std::make_shared<std::atomic<bool>>(false);
    auto warnOnce = [warned](const char *what) {
        if (!warned->exchange(true))
            qCWarning(lcEndpoints) << "process metrics: cannot read" << what;
    };
    return registry.addCollector([rss = *rss, vsz = *vsz, cpu = *cpu, start = *start, fds = *fds,
                                  threads = *threads, warnOnce,
                                  boot = readBootTime()] {
        if (auto v = readRssBytes())
            rss.set(*v);
        else
            warnOnce("/proc/self/statm");
        if (auto s = readStat()) {
            cpu.setTotal(s->cpuSeconds);
            vsz.set(s->virtualBytes);
            threads.set(s->threads);
            if (boot)
                start.set(*boot + s->startTicks);
        } else {
            warnOnce("/proc/self/stat");
        }
        if (auto n = countOpenFds())
            fds.set(*n);
        else
            warnOnce("/proc/self/fd");
    });
}

} // namespace stoa::endpoints
