// tests/cache/store_fixtures.h — the cache tests' helpers: random bytes and
// their digest (computed independently of the store, by Qt), files, and
// opening a store / putting a blob in it.
#pragma once

#include "cache/blob_writer.h"
#include "cache/store.h"

#include <QByteArray>
#include <QCryptographicHash>
#include <QFile>
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

inline void writeFile(const std::filesystem::path &path, const QByteArray &bytes)
{
    QFile f(QString::fromStdString(path.string()));
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", path.c_str());
}

inline QByteArray readFile(const std::filesystem::path &path)
{
    QFile f(QString::fromStdString(path.string()));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
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

} // namespace stoa::testing
