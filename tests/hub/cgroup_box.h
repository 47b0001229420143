// tests/hub/cgroup_box.h — a cgroup with a CPU quota and a memory limit that
// a child process is started in, so a test can run a stoa-hub replica as a
// smaller machine would (tst_spike: "10x the sustainable rate" must be
// reachable by a load generator on the same 2 cores).
//
// Job: create a cgroup below the test's own (cgroup v1: the `cpu` and
// `memory` hierarchies; v2: the unified one, below the test's own cgroup
// when its controllers can be delegated there, else below the root), set
// the quota (v1 cpu.cfs_quota_us, v2 cpu.max) and the memory limit (v1
// memory.limit_in_bytes, v2 memory.max, as systemd's MemoryMax sets), put
// a child in it before it runs (enter(), from QProcess's child modifier),
// read its OOM kills and peak usage, and remove it.
// Invariants:
//  - create() either returns a box with both limits written or says why
//    not (for QSKIP: not root, no writable hierarchy, a controller absent);
//  - enter() is async-signal-safe (open/write/close of precomputed paths):
//    it runs in the forked child before exec, so the process never runs
//    outside its limits;
//  - the destructor removes the directories; destroy the processes first
//    (a cgroup with a live process cannot be removed, and is left behind).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <expected>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace stoa::hub::test {

class CgroupBox {
public:
    // `cpuPercent` of one core (100: a whole one); `memoryMax` bytes.
    static std::expected<std::unique_ptr<CgroupBox>, std::string> create(const std::string &name, int cpuPercent,
                                                                          std::int64_t memoryMax)
    {
        auto box = std::unique_ptr<CgroupBox>(new CgroupBox);
        const std::string leaf = "stoa-test-" + std::to_string(::getpid()) + "-" + name;
        const std::string quota = std::to_string(cpuPercent * 1000); // of a 100 ms period
        std::string whyV1, whyV2;
        const std::string cpuV1 = ownDir("/sys/fs/cgroup/", "cpu", whyV1);
        const std::string memV1 = whyV1.empty() ? ownDir("/sys/fs/cgroup/", "memory", whyV1) : std::string();
        if (whyV1.empty()) {
            const std::string cpu = cpuV1 + "/" + leaf, mem = memV1 + "/" + leaf;
            if (makeDir(cpu, whyV1) && (box->dirs_.push_back(cpu), true) && makeDir(mem, whyV1)
                && (box->dirs_.push_back(mem), true) && write(cpu + "/cpu.cfs_period_us", "100000", whyV1)
                && write(cpu + "/cpu.cfs_quota_us", quota, whyV1)
                && write(mem + "/memory.limit_in_bytes", std::to_string(memoryMax), whyV1)) {
                box->v2_ = false;
                box->memDir_ = mem;
                box->procs_ = {cpu + "/cgroup.procs", mem + "/cgroup.procs"};
                return box;
            }
            box->removeDirs();
        }
        // v2: a child of our own cgroup needs it to delegate cpu and memory,
        // which it cannot while it holds processes (no internal processes),
        // except at the root; so the root when our own refuses.
        if (exists("/sys/fs/cgroup/cgroup.controllers")) {
            std::string own;
            {
                std::ifstream in("/proc/self/cgroup");
                for (std::string line; std::getline(in, line);)
                    if (line.rfind("0::", 0) == 0)
                        own = line.substr(3);
            }
            for (const std::string &parent : {"/sys/fs/cgroup" + (own == "/" ? std::string() : own), std::string("/sys/fs/cgroup")}) {
                std::string why;
                const std::string dir = parent + "/" + leaf;
                if (write(parent + "/cgroup.subtree_control", "+cpu +memory", why) && makeDir(dir, why)
                    && (box->dirs_.push_back(dir), true)
                    && write(dir + "/cpu.max", quota + " 100000", why)
                    && write(dir + "/memory.max", std::to_string(memoryMax), why)) {
                    box->v2_ = true;
                    box->memDir_ = dir;
                    box->procs_ = {dir + "/cgroup.procs"};
                    return box;
                }
                box->removeDirs();
                whyV2 += (whyV2.empty() ? "" : "; ") + why;
            }
        } else {
            whyV2 = "no unified hierarchy at /sys/fs/cgroup";
        }
        return std::unexpected("no writable cgroup for a CPU quota and a memory limit (v1: " + whyV1 + "; v2: " + whyV2
                               + ")");
    }

    ~CgroupBox() { removeDirs(); }
    CgroupBox(const CgroupBox &) = delete;
    CgroupBox &operator=(const CgroupBox &) = delete;

    // In the forked child, before exec: moves the calling process in
    // ("0" is the writer itself in cgroup.procs, v1 and v2).
    void enter() const noexcept
    {
        for (const auto &p : procs_) {
            const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0)
                continue; // the parent checks with contains()
            (void)!::write(fd, "0", 1);
            ::close(fd);
        }
    }
    // Whether `pid` is in this box (its /proc/PID/cgroup names the leaf).
    bool contains(std::int64_t pid) const
    {
        std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
        std::stringstream all;
        all << in.rdbuf();
        const std::string leaf = memDir_.substr(memDir_.rfind('/') + 1);
        std::size_t n = 0;
        for (std::size_t at = all.str().find(leaf); at != std::string::npos; at = all.str().find(leaf, at + 1))
            ++n;
        return n >= procs_.size(); // v1: in both hierarchies
    }
    // Processes the kernel's OOM killer killed in this box (v1
    // memory.oom_control "oom_kill", v2 memory.events "oom_kill"); -1: unknown.
    std::int64_t oomKills() const { return field(memDir_ + (v2_ ? "/memory.events" : "/memory.oom_control"), "oom_kill"); }
    // Peak memory charged to the box (RSS plus page cache), bytes; -1: unknown
    // (v2 before Linux 5.19 has no memory.peak).
    std::int64_t peakBytes() const
    {
        std::ifstream in(memDir_ + (v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes"));
        std::int64_t v = -1;
        in >> v;
        return in ? v : -1;
    }
    bool v2() const { return v2_; }

private:
    CgroupBox() = default;

    // Our own cgroup's directory in v1 hierarchy `controller`.
    static std::string ownDir(const std::string &root, const std::string &controller, std::string &why)
    {
        std::ifstream in("/proc/self/cgroup");
        for (std::string line; std::getline(in, line);) {
            const auto a = line.find(':'), b = line.find(':', a + 1);
            if (a == std::string::npos || b == std::string::npos)
                continue;
            const std::string list = line.substr(a + 1, b - a - 1);
            std::stringstream names(list);
            for (std::string n; std::getline(names, n, ',');) {
                if (n != controller)
                    continue;
                const std::string mount = root + list; // "cpu", or "cpu,cpuacct" where co-mounted
                if (!exists(mount + "/cgroup.procs")) {
                    why = "no v1 " + controller + " hierarchy at " + mount;
                    return {};
                }
                const std::string own = line.substr(b + 1);
                return mount + (own == "/" ? std::string() : own);
            }
        }
        why = "no v1 " + controller + " controller in /proc/self/cgroup";
        return {};
    }
    static bool exists(const std::string &path)
    {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0;
    }
    static bool makeDir(const std::string &path, std::string &why)
    {
        if (::mkdir(path.c_str(), 0755) == 0)
            return true;
        why = "mkdir " + path + ": " + std::strerror(errno);
        return false;
    }
    static bool write(const std::string &path, const std::string &value, std::string &why)
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        const bool ok = fd >= 0 && ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
        if (!ok)
            why = "write " + value + " to " + path + ": " + std::strerror(errno);
        if (fd >= 0)
            ::close(fd);
        return ok;
    }
    static std::int64_t field(const std::string &path, const std::string &key)
    {
        std::ifstream in(path);
        std::string k;
        std::int64_t v = 0;
        while (in >> k >> v)
            if (k == key)
                return v;
        return -1;
    }
    void removeDirs()
    {
        for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it)
            ::rmdir(it->c_str());
        dirs_.clear();
    }

    bool v2_ = false;
    std::string memDir_;
    std::vector<std::string> dirs_;
    std::vector<std::string> procs_;
};

} // namespace stoa::hub::test
