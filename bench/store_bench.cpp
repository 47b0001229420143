// bench/store_bench.cpp — the content store's figures (issue: foundation).
//
//  1. Import and verify throughput against `sha256sum` on the same files in
//     the same run. Every file is read once untimed first so all three runs
//     read from the page cache; import additionally writes, fsyncs and
//     renames every byte (it is the real path a download takes).
//  2. Recovery scan over N blobs (default 10,000): a clean start, and a start
//     after state.db was deleted (every blob re-indexed from disk).
//
// Usage: store_bench [--mib TOTAL_MIB] [--files N] [--blobs N] [--dir DIR]
// DIR must be on the file system the store would use (default: a temp dir).
#include "cache/blob_writer.h"
#include "cache/scrub.h"
#include "cache/store.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <vector>

using namespace stoa::cache;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void writeRandomFile(const fs::path &p, std::uint64_t bytes, quint32 seed)
{
    QRandomGenerator gen(seed);
    std::vector<quint32> buf(1 << 18); // 1 MiB
    std::ofstream out(p, std::ios::binary);
    for (std::uint64_t done = 0; done < bytes;) {
        gen.fillRange(buf.data(), static_cast<qsizetype>(buf.size()));
        const auto n = std::min<std::uint64_t>(bytes - done, buf.size() * 4);
        out.write(reinterpret_cast<const char *>(buf.data()), static_cast<std::streamsize>(n));
        done += n;
    }
}

double runSha256sum(const std::vector<fs::path> &files)
{
    QStringList args;
    for (const auto &f : files)
        args << QString::fromStdString(f.string());
    QProcess p;
    p.setStandardOutputFile(QProcess::nullDevice());
    const auto t = Clock::now();
    p.start("sha256sum", args);
    if (!p.waitForFinished(-1) || p.exitCode() != 0) {
        std::fprintf(stderr, "sha256sum failed\n");
        std::exit(1);
    }
    return secondsSince(t);
}

int argValue(const QStringList &args, const QString &name, int fallback)
{
    const auto i = args.indexOf(name);
    return i >= 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules("stoa.cache.info=false");
    const QStringList args = app.arguments();
    const int totalMib = argValue(args, "--mib", 512);
    const int fileCount = argValue(args, "--files", 8);
    const int blobCount = argValue(args, "--blobs", 10000);
    const auto dirIdx = args.indexOf("--dir");
    QTemporaryDir tmp(dirIdx >= 0 ? args[dirIdx + 1] + "/store-bench-XXXXXX" : QDir::tempPath() + "/store-bench-XXXXXX");
    const fs::path root = tmp.path().toStdString();

    // --- 1. throughput
    std::vector<fs::path> files;
    const std::uint64_t perFile = std::uint64_t(totalMib) * 1024 * 1024 / std::uint64_t(fileCount);
    for (int i = 0; i < fileCount; ++i) {
        files.push_back(root / ("in-" + std::to_string(i)));
        writeRandomFile(files.back(), perFile, quint32(i + 1));
    }
    const double mib = double(perFile * std::uint64_t(fileCount)) / (1024.0 * 1024.0);
    runSha256sum(files); // warm the page cache for everyone
    const double tSum = runSha256sum(files);

    StoreOptions o;
    o.dataDir = root / "data";
    auto store = Store::open(o);
    if (!store) {
        std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
        return 1;
    }
    auto t = Clock::now();
    for (const auto &f : files)
        if (auto ok = importFile((*store)->blobs(), (*store)->space(), f); !ok) {
            std::fprintf(stderr, "import: %s\n", ok.error().message.c_str());
            return 1;
        }
    const double tImport = secondsSince(t);

    auto scrub = Scrubber::open(o.dataDir, {0, std::chrono::milliseconds(0)});
    t = Clock::now();
    for (int i = 0; i < fileCount; ++i)
        if (auto r = (*scrub)->scrubNext(); !r || !*r || !(*r)->ok) {
            std::fprintf(stderr, "verify failed\n");
            return 1;
        }
    const double tVerify = secondsSince(t);

    std::printf("throughput over %d files, %.0f MiB, page cache warm\n", fileCount, mib);
    std::printf("  sha256sum            %8.3f s  %8.1f MiB/s\n", tSum, mib / tSum);
    std::printf("  store import         %8.3f s  %8.1f MiB/s  (read+hash+write+fsync+rename)  ratio %.2fx sha256sum\n",
                tImport, mib / tImport, tSum / tImport);
    std::printf("  store verify (scrub) %8.3f s  %8.1f MiB/s  ratio %.2fx sha256sum\n", tVerify, mib / tVerify,
                tSum / tVerify);
    std::printf("  target: store within 10%% of sha256sum (ratio >= 0.90): import %s, verify %s\n",
                tSum / tImport >= 0.9 ? "met" : "NOT met", tSum / tVerify >= 0.9 ? "met" : "NOT met");
    store->reset();
    scrub->reset();

    // --- 2. recovery scan
    const fs::path rdata = root / "recovery";
    {
        StoreOptions ro;
        ro.dataDir = rdata;
        auto s = Store::open(ro);
        auto tx = Transaction::begin((*s)->db());
        QRandomGenerator gen(7);
        for (int i = 0; i < blobCount; ++i) {
            // Files written directly: this measures the scan, not 10,000 fsyncs.
            char hex[65];
            for (int k = 0; k < 64; ++k)
                hex[k] = "0123456789abcdef"[gen.bounded(16)];
            hex[64] = 0;
            const auto digest = *stoa::schedule::Digest::fromHex(std::string_view(hex, 64));
            const fs::path p = (*s)->blobs().pathFor(digest);
            fs::create_directories(p.parent_path());
            std::ofstream(p, std::ios::binary) << "x";
            (void)(*s)->blobs().index(BlobInfo{digest, 1}, true);
        }
        (void)tx->commit();
    }
    StoreOptions ro;
    ro.dataDir = rdata;
    t = Clock::now();
    auto clean = Store::open(ro);
    const double tClean = secondsSince(t);
    const auto cleanReport = (*clean)->recoveryReport();
    clean->reset();
    for (const char *f : {"state.db", "state.db-wal", "state.db-shm"})
        fs::remove(rdata / f);
    t = Clock::now();
    auto rebuilt = Store::open(ro);
    const double tRebuilt = secondsSince(t);
    std::printf("recovery scan over %d blobs\n", blobCount);
    std::printf("  clean start          %8.3f s  (%d orphans, %d dropped)\n", tClean, cleanReport.orphansIndexed,
                cleanReport.rowsDropped);
    std::printf("  state.db deleted     %8.3f s  (%d blobs re-indexed)\n", tRebuilt,
                (*rebuilt)->recoveryReport().orphansIndexed);
    return 0;
}
