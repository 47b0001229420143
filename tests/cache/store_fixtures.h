// tests/cache/store_fixtures.h — the cache tests' helpers: random bytes and
// their digest (computed independently of the store, by Qt), files
// (tests/harness/test_files.h), opening a store / putting a blob in it, a
// play record.
#pragma once

#include "test_files.h" // writeFile, readFile

#include "cache/blob_writer.h"
#include "cache/play_record.h"
#include "cache/store.h"

#include <QByteArray>
#include <QCryptographicHash>
#include <QRandomGenerator>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace stoa::testing {

inline QByteArray randomBytes(qsizetype n, quint32 seed)
{
    QRandomGenerator gen(seed);
    std::vector<quint32> words(static_cast<std::size_t>(n / 4 + 1));
    gen.fillRange(words.data(), static_cast<qsizetype>(words.size()));
    return QByteArray(reinterpret_cast<const char *>(words.data()), n);
}

// Qt's hash, not the store's: the test's oracle must not share the code under test.
inline schedule::Digest digestOf(const QByteArray &bytes)
{
    return *schedule::Digest::fromHex(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex().toStdString());
}

inline std::span<const std::byte> bytesOf(const QByteArray &b)
{
    return std::as_bytes(std::span(b.constData(), static_cast<std::size_t>(b.size())));
}

// Opens the store at options.dataDir; a test cannot go on without it.
inline std::unique_ptr<cache::Store> openStoreOrDie(const cache::StoreOptions &options)
{
    auto s = cache::Store::open(options);
    if (!s)
        qFatal("open store: %s", s.error().message.c_str());
    return std::move(*s);
}

inline std::unique_ptr<cache::Store> openStoreOrDie(const std::filesystem::path &dataDir)
{
    cache::StoreOptions o;
    o.dataDir = dataDir;
    return openStoreOrDie(o);
}

// Writes `bytes` as a blob through a BlobWriter, the way a download does.
inline cache::Result<cache::BlobInfo> putBlob(cache::Store &s, const QByteArray &bytes)
{
    auto w = cache::BlobWriter::open(s.blobs(), s.space(), digestOf(bytes), std::uint64_t(bytes.size()));
    if (!w)
        return std::unexpected(w.error());
    if (auto ok = w->write(bytesOf(bytes)); !ok)
        return std::unexpected(ok.error());
    return w->commit();
}

// A completed full-screen play of 8 s, as the player records one; `id`
// tells it apart (the play log keeps one record per id).
inline cache::PlayRecord playRecord(const std::string &id)
{
    cache::PlayRecord p;
    p.id = id;
    p.asset = "sha256:" + std::string(64, 'a');
    p.playlist = "lobby";
    p.startedAt = "2026-11-25T10:00:00.000Z";
    p.durationMs = 8000;
    p.completed = true;
    return p;
}

} // namespace stoa::testing
