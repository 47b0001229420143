// bench/child_process.h — the processes a bench starts (hubs, agents,
// HAProxy, proxies) and their logs: spawn with output to a log file, reap
// with a deadline, read a log from an offset (hub_herd_bench,
// fleet_rehearsal).
// Invariants: a spawned child's stdin is /dev/null and its stdout and stderr
// append to its log; reap() never blocks past its deadline; readFile() and
// fileSize() read "" / 0 for a file that is not there (yet).
#pragma once

#include "http_pool.h" // monoNs

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace stoa::bench {

// Starts args[0] (searched on PATH when it has no slash); -1 when it cannot.
inline pid_t spawn(const std::vector<std::string> &args, const std::string &logPath)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

// Reaps `pid` within `timeoutS`: "exit N", "signal NAME", "still running"
// or "not a child".
inline std::string reap(pid_t pid, double timeoutS)
{
    const std::int64_t end = monoNs() + std::int64_t(timeoutS * 1e9);
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0)
            return "not a child";
        if (monoNs() > end)
            return "still running";
        ::usleep(5000); // the poll's pace
    }
    if (WIFEXITED(status))
        return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("signal ") + strsignal(WTERMSIG(status));
    return "?";
}

// The file from byte `from` on; "" when it cannot be read.
inline std::string readFile(const std::string &path, std::size_t from = 0)
{
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return out;
    if (from > 0)
        ::lseek(fd, off_t(from), SEEK_SET);
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, std::size_t(n));
    ::close(fd);
    return out;
}

inline std::size_t fileSize(const std::string &path)
{
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? std::size_t(st.st_size) : 0;
}

} // namespace stoa::bench
