// cache/file_hash.cpp — see file_hash.h.
#include "cache/file_hash.h"

#include "cache/durable.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace stoa::cache {

Result<schedule::Digest> sha256File(const std::filesystem::path &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return std::unexpected(osError("open " + path.string(), errno));
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    schedule::Sha256 hash;
    std::vector<std::byte> buf(1 << 20);
    auto ok = readChunks(fd.get(), buf, [&](std::span<const std::byte> c) {
        hash.update(c);
        return true;
    }, path.string());
    if (!ok)
        return std::unexpected(ok.error());
    return hash.finish();
}

} // namespace stoa::cache
