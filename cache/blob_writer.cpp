#include "cache/blob_writer.h"

#include "cache/logging.h"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace stoa::cache {

namespace {

constexpr std::size_t kChunk = 1 << 20;
// Start writeback every this many bytes, so the disk works while we hash and
// the final fsync has little left to do (and dirty pages never pile up on a
// 1 GiB Pi).
constexpr std::uint64_t kWritebackEvery = 8u << 20;
// A writer's hash thread reads back this much at a time.
constexpr std::size_t kHashChunk = 256u << 10;
// Bytes gathered before a write(2); larger writes go straight through. Small
// enough that a killed process loses little of what it had received (what is
// written survives a kill; a resume asks only for the rest).
constexpr std::size_t kWriteBuffer = 128u << 10;
// ... or after this long, whichever comes first.
constexpr std::chrono::milliseconds kWriteDelay{50};

// Asks the kernel to start writing [from, to) back; does not wait.
void startWriteback(int fd, std::uint64_t from, std::uint64_t to)
{
    ::sync_file_range(fd, static_cast<off_t>(from), static_cast<off_t>(to - from), SYNC_FILE_RANGE_WRITE);
}

// Feeds bytes [from, from + length) of fd into `hash` through `buf`; fails if
// they are not there.
Result<void> hashPrefixFrom(int fd, std::uint64_t from, std::uint64_t length, schedule::Sha256 &hash,
                            const std::filesystem::path &path, std::vector<std::byte> &buf)
{
    std::uint64_t done = 0;
    while (done < length) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - done));
        const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(from + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return std::unexpected(osError("read " + path.string(), errno));
        }
        if (n == 0)
            return fail(ErrorCode::Corrupt, path.string() + " shrank while being read");
        hash.update(std::span(buf.data(), static_cast<std::size_t>(n)));
        done += static_cast<std::uint64_t>(n);
    }
    return {};
}

// Copies all of `in` to `out` and hashes what landed in `out`. The copy is
// done by the kernel (copy_file_range, no trip through user space) where the
// file systems allow it, and the hash reads the freshly written pages back
// from the page cache: so the name is computed from the bytes we stored, not
// from a source that might change under us.
Result<std::uint64_t> copyAndHash(int in, int out, schedule::Sha256 &hash, const std::filesystem::path &source,
                                  const std::filesystem::path &tmp)
{
    std::vector<std::byte> buf(kChunk);
    std::uint64_t total = 0;
    bool kernelCopy = true;
    for (;;) {
        ssize_t n = -1;
        if (kernelCopy) {
            n = ::copy_file_range(in, nullptr, out, nullptr, kWritebackEvery, 0);
            if (n < 0 && total == 0 &&
                (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                kernelCopy = false;
                continue;
            }
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return std::unexpected(osError("copy " + source.string() + " to " + tmp.string(), errno));
            }
            if (auto ok = hashPrefixFrom(out, total, static_cast<std::uint64_t>(n), hash, tmp, buf); !ok)
                return std::unexpected(ok.error());
        } else {
            n = ::read(in, buf.data(), buf.size());
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return std::unexpected(osError("read " + source.string(), errno));
            }
            const std::span chunk(buf.data(), static_cast<std::size_t>(n));
            if (auto ok = writeAll(out, chunk, tmp.string()); !ok)
                return std::unexpected(ok.error());
            hash.update(chunk);
        }
        if (n == 0)
            return total;
        const std::uint64_t before = total;
        total += static_cast<std::uint64_t>(n);
        if (total / kWritebackEvery != before / kWritebackEvery)
            startWriteback(out, (total / kWritebackEvery - 1) * kWritebackEvery, total / kWritebackEvery * kWritebackEvery);
    }
}

// fsync, rename into blobs/, fsync both directories, index. `fd` is the temp file.
Result<BlobInfo> publish(BlobStore &blobs, int fd, const std::filesystem::path &tmp, const BlobInfo &info,
                         bool synced = false)
{
    if (!synced && ::fsync(fd) != 0)
        return std::unexpected(osError("fsync " + tmp.string(), errno));
    const auto target = blobs.pathFor(info.digest);
    if (auto ok = ensureDirectory(target.parent_path()); !ok)
        return std::unexpected(ok.error());
    if (::rename(tmp.c_str(), target.c_str()) != 0)
        return std::unexpected(osError("rename " + tmp.string() + " to " + target.string(), errno));
    if (auto ok = fsyncDirectory(target.parent_path()); !ok)
        return std::unexpected(ok.error());
    if (auto ok = fsyncDirectory(tmp.parent_path()); !ok)
        return std::unexpected(ok.error());
    if (auto ok = blobs.index(info, true); !ok)
        return std::unexpected(ok.error());
    return info;
}

} // namespace

// Hashes the partial from byte 0 up to what the owner has written so far,
// following it as it grows. The digest and the read position belong to the
// thread until finish() or cancel() joined it. Reading back instead of
// hashing the network buffers costs a copy from the page cache, on another
// core; the receiving thread saves the whole hash (about 0.55 s per GiB with
// SHA-NI here, several seconds on a Pi without crypto extensions).
class BlobWriter::Hasher {
public:
    Hasher(int fd, std::filesystem::path path, std::uint64_t available)
        : m_fd(fd), m_path(std::move(path)), m_available(available), m_thread([this] { run(); })
    {
    }
    ~Hasher() { cancel(); }
    Hasher(const Hasher &) = delete;
    Hasher &operator=(const Hasher &) = delete;

    // The file now holds `bytes` bytes the hash may read.
    void advance(std::uint64_t bytes)
    {
        {
            std::lock_guard lock(m_mutex);
            m_available = bytes;
        }
        m_wake.notify_one();
    }
    // Hashes what is still missing, stops the thread; returns the digest.
    Result<schedule::Digest> finish()
    {
        stop(false);
        if (m_error)
            return std::unexpected(*m_error);
        return m_hash.finish();
    }
    // Stops the thread without waiting for the rest.
    void cancel() { stop(true); }

private:
    void stop(bool cancel)
    {
        {
            std::lock_guard lock(m_mutex);
            m_finishing = true;
            m_cancelled = m_cancelled || cancel;
        }
        m_wake.notify_one();
        if (m_thread.joinable())
            m_thread.join();
    }

    void run()
    {
        // Allocated at the first bytes: a round opens a writer for every blob
        // it will fetch (4 x parallel_downloads), most of them wait their turn.
        std::vector<std::byte> buf;
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_wake.wait(lock, [&] { return m_cancelled || m_finishing || m_hashed < m_available; });
            if (m_cancelled || (m_hashed >= m_available && m_finishing))
                return;
            const std::uint64_t from = m_hashed;
            const std::uint64_t length = std::min<std::uint64_t>(kHashChunk, m_available - from);
            lock.unlock();
            buf.resize(kHashChunk);
            auto ok = hashPrefixFrom(m_fd, from, length, m_hash, m_path, buf);
            lock.lock();
            if (!ok) {
                m_error = ok.error();
                return;
            }
            m_hashed = from + length;
        }
    }

    const int m_fd;                    // the owner's descriptor; only pread here
    const std::filesystem::path m_path; // for messages
    schedule::Sha256 m_hash;                     // fed [0, m_hashed); the thread's until joined
    std::optional<Error> m_error;      // a read failed; set by the thread before it exits
    std::mutex m_mutex;                // guards the four below
    std::condition_variable m_wake;
    std::uint64_t m_available = 0;     // bytes of the file that are written
    std::uint64_t m_hashed = 0;        // bytes fed to m_hash
    bool m_finishing = false;          // hash up to m_available, then exit
    bool m_cancelled = false;          // exit now
    std::thread m_thread;              // last: starts once everything above is set
};

BlobWriter::BlobWriter(BlobWriter &&) noexcept = default;
BlobWriter &BlobWriter::operator=(BlobWriter &&) noexcept = default;

BlobWriter::BlobWriter(BlobStore &blobs, schedule::Digest digest, std::uint64_t expected,
                       std::filesystem::path partial, UniqueFd fd)
    : m_blobs(&blobs), m_digest(std::move(digest)), m_expected(expected), m_partial(std::move(partial)), m_fd(std::move(fd))
{
}

Result<BlobWriter> BlobWriter::open(BlobStore &blobs, SpacePolicy &space, schedule::Digest digest,
                                    std::uint64_t expectedSize)
{
    if (auto ok = ensureDirectory(blobs.tmpDir()); !ok)
        return std::unexpected(ok.error());
    auto partial = blobs.partialPathFor(digest, expectedSize);
    UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid())
        return std::unexpected(osError("open " + partial.string(), errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return fail(ErrorCode::Busy, "another writer is downloading " + digest.hex());
        return std::unexpected(osError("flock " + partial.string(), errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return std::unexpected(osError("stat " + partial.string(), errno));
    std::uint64_t existing = static_cast<std::uint64_t>(st.st_size);
    if (existing > expectedSize) {
        qCWarning(lcCache, "partial %s is larger than its declared size; starting over", partial.c_str());
        if (::ftruncate(fd.get(), 0) != 0)
            return std::unexpected(osError("truncate " + partial.string(), errno));
        existing = 0;
    }
    if (auto ok = space.reserve(expectedSize - existing, partial); !ok) {
        if (existing == 0)
            ::unlink(partial.c_str());
        return std::unexpected(ok.error());
    }
    BlobWriter w(blobs, std::move(digest), expectedSize, std::move(partial), std::move(fd));
    if (existing > 0)
        qCInfo(lcCache, "resuming %s at %llu of %llu bytes", w.m_digest.hex().c_str(), static_cast<unsigned long long>(existing),
               static_cast<unsigned long long>(expectedSize));
    w.m_offset = existing;
    w.m_flushed = existing;
    if (::lseek(w.m_fd.get(), static_cast<off_t>(existing), SEEK_SET) < 0)
        return std::unexpected(osError("seek " + w.m_partial.string(), errno));
    // The bytes already there are hashed in the background too: a resume of
    // a large partial starts receiving at once.
    w.m_hasher = std::make_unique<Hasher>(w.m_fd.get(), w.m_partial, existing);
    return w;
}

BlobWriter::~BlobWriter()
{
    // Keep what arrived for the resume; a failure here only costs a re-fetch.
    if (m_fd.valid() && !m_sealed)
        (void)flush();
    m_hasher.reset(); // joins before m_fd closes
}

Result<void> BlobWriter::writeOut(std::span<const std::byte> bytes)
{
    if (auto ok = writeAll(m_fd.get(), bytes, m_partial.string()); !ok) {
        // Cut back to what we know is whole, so a resume never trusts a torn
        // tail; the hash already saw the lost bytes, so this writer is done.
        if (::ftruncate(m_fd.get(), static_cast<off_t>(m_flushed)) == 0)
            ::lseek(m_fd.get(), static_cast<off_t>(m_flushed), SEEK_SET);
        m_offset = m_flushed;
        m_buffer.clear();
        m_broken = true;
        return ok;
    }
    const std::uint64_t before = m_flushed;
    m_flushed += bytes.size();
    if (m_hasher)
        m_hasher->advance(m_flushed);
    if (m_flushed / kWritebackEvery != before / kWritebackEvery)
        startWriteback(m_fd.get(), (m_flushed / kWritebackEvery - 1) * kWritebackEvery,
                       m_flushed / kWritebackEvery * kWritebackEvery);
    return {};
}

Result<void> BlobWriter::flush()
{
    if (m_buffer.empty())
        return {};
    auto ok = writeOut(m_buffer);
    m_buffer.clear();
    return ok;
}

Result<void> BlobWriter::write(std::span<const std::byte> bytes)
{
    if (!m_fd.valid() || m_sealed || m_broken)
        return fail(ErrorCode::InvalidArgument, "writer for " + m_digest.hex() + " is closed");
    if (bytes.size() > m_expected - m_offset)
        return fail(ErrorCode::SizeMismatch, "blob " + m_digest.hex() + " is longer than its declared " +
                                                 std::to_string(m_expected) + " bytes");
    m_offset += bytes.size();
    // libcurl hands bodies over in pieces of whatever recv() got (16 KiB
    // and less on a slow link): gather them, so a fast download costs one
    // write(2) per kWriteBuffer, not one per callback. A
    // slow one still reaches the file every kWriteDelay, so a crash loses
    // little of what arrived (a resume asks only for the rest).
    if (m_buffer.size() + bytes.size() <= kWriteBuffer) {
        const auto now = std::chrono::steady_clock::now();
        if (m_buffer.empty())
            m_bufferSince = now;
        m_buffer.insert(m_buffer.end(), bytes.begin(), bytes.end());
        if (m_buffer.size() < kWriteBuffer && now - m_bufferSince < kWriteDelay)
            return {};
        return flush();
    }
    if (auto ok = flush(); !ok)
        return ok;
    return writeOut(bytes);
}

Result<void> BlobWriter::seal()
{
    if (m_sealed)
        return {};
    if (!m_fd.valid() || m_broken)
        return fail(ErrorCode::InvalidArgument, "writer for " + m_digest.hex() + " is closed");
    if (auto ok = flush(); !ok)
        return ok;
    if (m_offset != m_expected)
        return fail(ErrorCode::SizeMismatch, "blob " + m_digest.hex() + " has " + std::to_string(m_offset) + " of " +
                                                 std::to_string(m_expected) + " bytes");
    if (!m_hasher)
        return fail(ErrorCode::InvalidArgument, "writer for " + m_digest.hex() + " is closed");
    auto digest = m_hasher->finish();
    m_hasher.reset();
    if (!digest) {
        m_broken = true; // the hash missed bytes: only a fresh writer can check this partial
        return std::unexpected(digest.error());
    }
    if (*digest != m_digest) {
        discard();
        return fail(ErrorCode::HashMismatch,
                    "blob " + m_digest.hex() + " hashes to " + digest->hex() + "; discarded");
    }
    if (::fsync(m_fd.get()) != 0)
        return std::unexpected(osError("fsync " + m_partial.string(), errno));
    m_sealed = true;
    return {};
}

Result<BlobInfo> BlobWriter::commit()
{
    if (auto ok = seal(); !ok)
        return std::unexpected(ok.error());
    auto done = publish(*m_blobs, m_fd.get(), m_partial, BlobInfo{m_digest, m_expected}, true);
    m_fd.reset();
    return done;
}

void BlobWriter::discard()
{
    m_hasher.reset();
    if (!m_partial.empty())
        ::unlink(m_partial.c_str());
    m_buffer.clear();
    m_fd.reset();
}

Result<void> BlobWriter::restart()
{
    if (!m_fd.valid())
        return fail(ErrorCode::InvalidArgument, "writer for " + m_digest.hex() + " is closed");
    m_hasher.reset(); // joined before the file shrinks under it
    if (::ftruncate(m_fd.get(), 0) != 0 || ::lseek(m_fd.get(), 0, SEEK_SET) < 0)
        return std::unexpected(osError("truncate " + m_partial.string(), errno));
    m_hasher = std::make_unique<Hasher>(m_fd.get(), m_partial, 0);
    m_offset = 0;
    m_flushed = 0;
    m_buffer.clear();
    m_broken = false;
    m_sealed = false;
    return {};
}

Result<BlobInfo> importFile(BlobStore &blobs, SpacePolicy &space, const std::filesystem::path &source)
{
    UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid())
        return std::unexpected(osError("open " + source.string(), errno));
    struct stat st {};
    if (::fstat(in.get(), &st) != 0)
        return std::unexpected(osError("stat " + source.string(), errno));
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (auto ok = ensureDirectory(blobs.tmpDir()); !ok)
        return std::unexpected(ok.error());
    if (auto ok = space.reserve(size); !ok)
        return std::unexpected(ok.error());

    // An anonymous temp name: recovery deletes these, they cannot be resumed.
    std::string tmpl = (blobs.tmpDir() / "import-XXXXXX").string();
    UniqueFd out(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!out.valid())
        return std::unexpected(osError("create temp file in " + blobs.tmpDir().string(), errno));
    ::fchmod(out.get(), 0644); // mkostemp makes 0600; blobs are readable like every other
    ::flock(out.get(), LOCK_EX); // recovery in another process leaves a locked temp alone
    const std::filesystem::path tmp = tmpl;
    auto cleanup = [&](Error e) {
        ::unlink(tmp.c_str());
        return std::unexpected(std::move(e));
    };

    ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    schedule::Sha256 hash;
    auto copied = copyAndHash(in.get(), out.get(), hash, source, tmp);
    if (!copied)
        return cleanup(copied.error());
    const std::uint64_t total = *copied;
    if (total != size)
        return cleanup(Error{ErrorCode::SizeMismatch, source.string() + " changed size while being imported"});
    const BlobInfo info{hash.finish(), total};
    auto done = publish(blobs, out.get(), tmp, info);
    if (!done)
        return cleanup(done.error());
    return done;
}

} // namespace stoa::cache
