// cache/blob_writer.h — getting bytes into the store safely.
//
// BlobWriter streams one asset of known name and size into a resumable
// partial file; commit() makes it visible only after size and SHA-256 match,
// the file is fsynced, renamed into blobs/ and the directory fsynced. The
// SHA-256 is computed on a thread of the writer's own, from the partial's
// bytes as they land in the file (read back from the page cache): the thread
// that receives the bytes only writes them, and what is named is what was
// stored.
// importFile() does the same for a local file whose hash is not known yet
// (the operator command, the demo).
//
// Invariants:
//  - at most expectedSize bytes ever reach the partial file (longer input is
//    refused, not truncated silently);
//  - while a BlobWriter is alive it holds an exclusive flock on its partial,
//    so another process neither writes it nor deletes it during recovery;
//  - destroying a BlobWriter without commit() keeps the partial for resume;
//    discard() deletes it;
//  - the hashing thread only reads bytes already written; it is joined before
//    the digest is used and before the file descriptor is closed.
#pragma once

#include "cache/blobs.h"
#include "cache/durable.h"
#include "cache/error.h"
#include "cache/space.h"
#include "schedule/digest.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace stoa::cache {

class BlobWriter {
public:
    // Opens or resumes the partial for `digest` of `expectedSize` bytes,
    // after reserving space for what is still missing. Fails with Busy when
    // another writer holds it.
    static Result<BlobWriter> open(BlobStore &blobs, SpacePolicy &space, schedule::Digest digest,
                                   std::uint64_t expectedSize);

    BlobWriter(BlobWriter &&) noexcept;
    BlobWriter &operator=(BlobWriter &&) noexcept;
    ~BlobWriter(); // flushes gathered bytes, keeping them for a resume; stops the hashing

    const schedule::Digest &digest() const { return m_digest; }
    std::uint64_t expectedSize() const { return m_expected; }
    // Bytes accepted so far; right after open(), the bytes already in the
    // partial: where a resumed download continues (HTTP Range).
    std::uint64_t offset() const { return m_offset; }

    // Appends bytes. Refuses (SizeMismatch) anything past expectedSize; on a
    // failed write the partial is cut back to the last good offset.
    Result<void> write(std::span<const std::byte> bytes);
    // Checks size and hash and makes the bytes durable (fsync). It touches
    // only this writer's own file, so it may run on another thread while the
    // owner goes on (the fsync of a large blob must not stall the other
    // downloads). On a hash mismatch the partial is deleted.
    Result<void> seal();
    // seal() if not done yet, then renames into place and indexes. On a hash
    // or size mismatch the partial is deleted (its bytes are wrong, resuming
    // would not help).
    Result<BlobInfo> commit();
    // Deletes the partial.
    void discard();
    // Empties the partial and starts again from byte 0 (a server ignored a
    // Range request and is sending the whole body).
    Result<void> restart();

private:
    class Hasher;
    Result<void> flush();
    Result<void> writeOut(std::span<const std::byte> bytes);
    BlobWriter(BlobStore &blobs, schedule::Digest digest, std::uint64_t expected, std::filesystem::path partial,
               UniqueFd fd);

    BlobStore *m_blobs;              // not owned; outlives the writer
    schedule::Digest m_digest;       // the name the bytes must hash to
    std::uint64_t m_expected = 0;    // declared size
    std::filesystem::path m_partial; // tmp/<hex>.<size>.part
    // Hashes [0, m_flushed) of the partial on its own thread. Declared before
    // m_fd so a move assignment joins the old thread before its descriptor
    // goes; the destructor joins it first explicitly.
    std::unique_ptr<Hasher> m_hasher;
    UniqueFd m_fd;                   // open for append, flock'ed exclusively
    std::uint64_t m_offset = 0;      // bytes accepted
    std::uint64_t m_flushed = 0;     // bytes written to the partial; m_offset - m_flushed are in m_buffer
    std::vector<std::byte> m_buffer; // gathered small writes, at most kWriteBuffer
    std::chrono::steady_clock::time_point m_bufferSince; // when m_buffer's first byte arrived
    bool m_broken = false;           // a write failed: the writer is done
    bool m_sealed = false;           // seal() succeeded: checked and fsynced, not yet renamed
};

// Copies a local file into the store, hashing on the way; returns its name.
Result<BlobInfo> importFile(BlobStore &blobs, SpacePolicy &space, const std::filesystem::path &source);

} // namespace stoa::cache
