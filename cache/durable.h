// cache/durable.h — file operations that survive power loss.
//
// A file written with writeFileAtomically() is either entirely the old
// content or entirely the new one after a crash: bytes go to a temp file in
// the same directory, are fsynced, renamed over the target, and the directory
// is fsynced so the rename itself is on disk.
#pragma once

#include "cache/error.h"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <utility>

namespace stoa::cache {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    UniqueFd(UniqueFd &&o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    UniqueFd &operator=(UniqueFd &&o) noexcept;
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    ~UniqueFd();

    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }
    void reset();

private:
    int m_fd = -1;
};

Result<void> fsyncDirectory(const std::filesystem::path &dir);
Result<void> writeFileAtomically(const std::filesystem::path &target, std::span<const std::byte> bytes);
Result<std::string> readWholeFile(const std::filesystem::path &path, std::size_t maxBytes);
// Reads fd to its end through `buffer`, handing each chunk to `chunk`; a
// false from `chunk` stops early (that is not an error). Retries EINTR.
Result<void> readChunks(int fd, std::span<std::byte> buffer,
                        const std::function<bool(std::span<const std::byte>)> &chunk, const std::string &what);
// Writes all of `bytes` to fd, retrying short writes and EINTR.
Result<void> writeAll(int fd, std::span<const std::byte> bytes, const std::string &what);
Result<void> ensureDirectory(const std::filesystem::path &dir);

} // namespace stoa::cache
