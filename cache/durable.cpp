#include "cache/durable.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace stoa::cache {

Error osError(const std::string &what, int err)
{
    const ErrorCode code = (err == ENOSPC || err == EDQUOT) ? ErrorCode::DiskFull : ErrorCode::Io;
    return Error{code, what + ": " + std::strerror(err)};
}

UniqueFd &UniqueFd::operator=(UniqueFd &&o) noexcept
{
    if (this != &o) {
        reset();
        m_fd = std::exchange(o.m_fd, -1);
    }
    return *this;
}

UniqueFd::~UniqueFd() { reset(); }

void UniqueFd::reset()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

Result<void> fsyncDirectory(const std::filesystem::path &dir)
{
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
        return std::unexpected(osError("open directory " + dir.string(), errno));
    if (::fsync(fd.get()) != 0)
        return std::unexpected(osError("fsync directory " + dir.string(), errno));
    return {};
}

Result<void> writeAll(int fd, std::span<const std::byte> bytes, const std::string &what)
{
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return std::unexpected(osError("write " + what, errno));
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> writeFileAtomically(const std::filesystem::path &target, std::span<const std::byte> bytes)
{
    const auto dir = target.parent_path();
    std::random_device rd;
    const auto tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!fd.valid())
            return std::unexpected(osError("create " + tmp.string(), errno));
        auto written = writeAll(fd.get(), bytes, tmp.string());
        if (written && ::fsync(fd.get()) != 0)
            written = std::unexpected(osError("fsync " + tmp.string(), errno));
        if (!written) {
            ::unlink(tmp.c_str());
            return written;
        }
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return std::unexpected(osError("rename to " + target.string(), err));
    }
    return fsyncDirectory(dir);
}

Result<std::string> readWholeFile(const std::filesystem::path &path, std::size_t maxBytes)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return fail(ErrorCode::NotFound, path.string() + " does not exist");
        return std::unexpected(osError("open " + path.string(), errno));
    }
    std::string out;
    bool tooLarge = false;
    std::byte buf[65536];
    auto ok = readChunks(fd.get(), buf, [&](std::span<const std::byte> c) {
        tooLarge = out.size() + c.size() > maxBytes;
        if (!tooLarge)
            out.append(reinterpret_cast<const char *>(c.data()), c.size());
        return !tooLarge;
    }, path.string());
    if (!ok)
        return std::unexpected(ok.error());
    if (tooLarge)
        return fail(ErrorCode::Corrupt, path.string() + " is larger than " + std::to_string(maxBytes) + " bytes");
    return out;
}

Result<void> readChunks(int fd, std::span<std::byte> buffer,
                        const std::function<bool(std::span<const std::byte>)> &chunk, const std::string &what)
{
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return std::unexpected(osError("read " + what, errno));
        }
        if (n == 0 || !chunk(buffer.first(static_cast<std::size_t>(n))))
            return {};
    }
}

Result<void> ensureDirectory(const std::filesystem::path &dir)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return fail(ErrorCode::Io, "create directory " + dir.string() + ": " + ec.message());
    return {};
}

} // namespace stoa::cache
