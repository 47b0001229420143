#include "cache/blobs.h"

#include "cache/kv.h"

#include "cache/logging.h"
#include "cache/row_clock.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <unistd.h>

namespace stoa::cache {

namespace {
// A blobs row's name. Only index() writes rows, from a Digest, so a row that
// is not one means state.db was damaged: logged, and skipped by the caller.
std::optional<schedule::Digest> rowDigest(const std::string &text)
{
    auto d = schedule::Digest::fromHex(text);
    if (!d)
        qCWarning(lcCache, "state.db: blob row \"%s\" is not a SHA-256 name; ignored", text.c_str());
    return d;
}
} // namespace

BlobStore::BlobStore(std::filesystem::path dataDir, Database &db) : m_dataDir(std::move(dataDir)), m_db(db) {}

std::filesystem::path BlobStore::pathFor(const schedule::Digest &digest) const
{
    return blobsRoot() / digest.hex().substr(0, 2) / digest.hex();
}

std::filesystem::path BlobStore::partialPathFor(const schedule::Digest &digest, std::uint64_t size) const
{
    return tmpDir() / (digest.hex() + "." + std::to_string(size) + ".part");
}

std::optional<PartialFile> BlobStore::parsePartialName(const std::filesystem::path &path)
{
    const std::string name = path.filename().string();
    // <64 hex>.<decimal size>.part
    if (name.size() < 64 + 1 + 1 + 5 || !name.ends_with(".part") || name[64] != '.')
        return std::nullopt;
    auto digest = schedule::Digest::fromHex(std::string_view(name).substr(0, 64));
    if (!digest)
        return std::nullopt;
    const std::string sizeText = name.substr(65, name.size() - 65 - 5);
    std::uint64_t size = 0;
    auto [ptr, ec] = std::from_chars(sizeText.data(), sizeText.data() + sizeText.size(), size);
    if (ec != std::errc() || ptr != sizeText.data() + sizeText.size() || sizeText.empty())
        return std::nullopt;
    return PartialFile{path, std::move(*digest), size, 0};
}

Result<bool> BlobStore::contains(const schedule::Digest &digest)
{
    auto found = find(digest);
    if (!found)
        return std::unexpected(found.error());
    return found->has_value();
}

Result<std::optional<std::filesystem::path>> BlobStore::find(const schedule::Digest &digest)
{
    auto st = m_db.prepare("SELECT 1 FROM blobs WHERE hex = ?");
    if (!st)
        return std::unexpected(st.error());
    st->bind(1, digest.hex());
    auto s = st->step();
    if (!s)
        return std::unexpected(s.error());
    if (*s != Statement::Step::Row)
        return std::optional<std::filesystem::path>();
    auto path = pathFor(digest);
    if (::access(path.c_str(), R_OK) != 0)
        return std::optional<std::filesystem::path>();
    return std::optional(path);
}

Result<void> BlobStore::touch(const schedule::Digest &digest)
{
    auto st = m_db.prepare(
        "UPDATE blobs SET last_used = (SELECT COALESCE(MAX(last_used), 0) + 1 FROM blobs) WHERE hex = ?");
    if (!st)
        return std::unexpected(st.error());
    return st->bind(1, digest.hex()).run();
}

Result<std::vector<BlobInfo>> BlobStore::list()
{
    auto st = m_db.prepare("SELECT hex, size FROM blobs ORDER BY hex");
    if (!st)
        return std::unexpected(st.error());
    std::vector<BlobInfo> out;
    if (auto ok = st->each([&](Statement &row) {
            if (auto digest = rowDigest(row.columnText(0)))
                out.push_back({std::move(*digest), static_cast<std::uint64_t>(row.columnInt(1))});
        });
        !ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> BlobStore::index(const BlobInfo &blob, bool verified)
{
    auto st = m_db.prepare(
        "INSERT INTO blobs(hex, size, added_at, last_used, verify_seq) "
        "VALUES(?1, ?2, ?3, (SELECT COALESCE(MAX(last_used), 0) + 1 FROM blobs), "
        "       CASE WHEN ?4 THEN (SELECT COALESCE(MAX(verify_seq), 0) + 1 FROM blobs) END) "
        "ON CONFLICT(hex) DO UPDATE SET size = excluded.size, verify_seq = excluded.verify_seq");
    if (!st)
        return std::unexpected(st.error());
    st->bind(1, blob.digest.hex()).bind(2, static_cast<std::int64_t>(blob.size)).bind(3, rowClockMs());
    st->bind(4, std::int64_t{verified ? 1 : 0});
    return st->run();
}

Result<void> BlobStore::remove(const schedule::Digest &digest)
{
    auto st = m_db.prepare("DELETE FROM blobs WHERE hex = ?");
    if (!st)
        return std::unexpected(st.error());
    if (auto ok = st->bind(1, digest.hex()).run(); !ok)
        return ok;
    const auto path = pathFor(digest);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return std::unexpected(osError("unlink " + path.string(), errno));
    return {};
}

Result<std::uint64_t> BlobStore::evict(std::uint64_t bytes)
{
    std::vector<BlobInfo> victims;
    {
        auto tx = Transaction::begin(m_db);
        if (!tx)
            return std::unexpected(tx.error());
        auto st = m_db.prepare("SELECT hex, size FROM blobs WHERE hex NOT IN (SELECT hex FROM pins) "
                               "ORDER BY last_used ASC");
        if (!st)
            return std::unexpected(st.error());
        std::uint64_t freed = 0;
        while (freed < bytes) {
            auto s = st->step();
            if (!s)
                return std::unexpected(s.error());
            if (*s == Statement::Step::Done)
                break;
            auto digest = rowDigest(st->columnText(0));
            if (!digest)
                continue; // recovery drops the row; its name cannot be a file to unlink
            victims.push_back({std::move(*digest), static_cast<std::uint64_t>(st->columnInt(1))});
            freed += victims.back().size;
        }
        st->reset();
        auto del = m_db.prepare("DELETE FROM blobs WHERE hex = ?");
        if (!del)
            return std::unexpected(del.error());
        for (const auto &v : victims)
            if (auto ok = del->bind(1, v.digest.hex()).run(); !ok)
                return std::unexpected(ok.error());
        if (auto ok = tx->commit(); !ok)
            return std::unexpected(ok.error());
    }
    // For the metrics (stoa_store_evictions_total); a lost count is harmless.
    if (!victims.empty())
        (void)KeyValue(m_db).add("evictions", std::int64_t(victims.size()));
    // Rows are gone first: a crash here leaves orphan files, which recovery
    // re-indexes, never a row pointing at nothing.
    std::uint64_t freed = 0;
    for (const auto &v : victims) {
        const auto path = pathFor(v.digest);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            qCWarning(lcCache, "evict: unlink %s: %s", path.c_str(), std::strerror(errno));
        freed += v.size;
        qCInfo(lcCache, "evicted blob %s (%llu bytes)", v.digest.hex().c_str(), static_cast<unsigned long long>(v.size));
    }
    return freed;
}

namespace {
Result<std::uint64_t> singleInt(Database &db, const char *sql)
{
    auto v = db.queryInt(sql);
    if (!v)
        return std::unexpected(v.error());
    return static_cast<std::uint64_t>(*v);
}
} // namespace

Result<std::uint64_t> BlobStore::indexedBytes() { return singleInt(m_db, "SELECT COALESCE(SUM(size), 0) FROM blobs"); }
Result<std::uint64_t> BlobStore::indexedCount() { return singleInt(m_db, "SELECT COUNT(*) FROM blobs"); }
Result<std::uint64_t> BlobStore::pinnedBytes()
{
    return singleInt(m_db, "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE hex IN (SELECT hex FROM pins)");
}

std::vector<PartialFile> BlobStore::partials() const
{
    std::vector<PartialFile> out;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(tmpDir(), ec)) {
        auto p = parsePartialName(entry.path());
        if (!p)
            continue;
        std::error_code sizeEc;
        p->currentSize = entry.file_size(sizeEc);
        if (!sizeEc)
            out.push_back(*p);
    }
    return out;
}

} // namespace stoa::cache
