// tests/cache/store_child.cpp — a second process for the cache tests.
//
//   store_child crash DIR SEED   import blobs and activate manifests forever,
//                                printing "committed N" after each activation
//                                (the crash test SIGKILLs it at random)
//   store_child writer DIR N     activate versions 1..N and log plays, printing
//                                "active N" after each (two-process tests)
//
// Version i's blob is derived from (SEED, i) so a restarted child can resume
// a partial it left behind and the parent can check contents.
#include "cache/blob_writer.h"
#include "cache/store.h"
#include "store_fixtures.h"

#include <QCoreApplication>
#include <QLoggingCategory>

#include <cstdio>

using namespace stoa::cache;
using namespace stoa::testing;

namespace {

QByteArray contentFor(quint32 seed, std::int64_t version)
{
    QRandomGenerator gen(seed * 7919u + static_cast<quint32>(version));
    // Mostly small, sometimes 1.5 MB so kills land mid-blob too.
    const qsizetype size = gen.bounded(8) == 0 ? 1536 * 1024 : 1 + gen.bounded(200 * 1024);
    return randomBytes(size, gen.generate());
}

[[noreturn]] void die(const char *what, const Error &e)
{
    std::fprintf(stderr, "store_child: %s: %s\n", what, e.message.c_str());
    std::exit(2);
}

// Writes the blob in 64 KiB steps, resuming a partial if one is there.
void putBlob(Store &s, const QByteArray &bytes)
{
    const stoa::schedule::Digest digest = digestOf(bytes);
    if (*s.blobs().contains(digest))
        return;
    auto w = BlobWriter::open(s.blobs(), s.space(), digest, std::uint64_t(bytes.size()));
    if (!w)
        die("open writer", w.error());
    for (qsizetype off = qsizetype(w->offset()); off < bytes.size(); off += 65536)
        if (auto ok = w->write(bytesOf(bytes.mid(off, 65536))); !ok)
            die("write", ok.error());
    if (auto ok = w->commit(); !ok)
        die("commit", ok.error());
}

void activateVersion(Store &s, quint32 seed, std::int64_t v)
{
    StoredManifest m;
    m.version = v;
    m.envelope = "envelope-" + std::to_string(v);
    for (std::int64_t k = std::max<std::int64_t>(1, v - 2); k <= v; ++k)
        m.assets.push_back(digestOf(contentFor(seed, k)));
    // Pin first (staged), then download: a kill mid-download leaves a
    // partial that recovery keeps and the next run resumes.
    if (auto ok = s.manifests().stage(m); !ok)
        die("stage", ok.error());
    for (std::int64_t k = std::max<std::int64_t>(1, v - 2); k <= v; ++k)
        putBlob(s, contentFor(seed, k));
    if (auto ok = s.manifests().activateStaged(); !ok)
        die("activate", ok.error());
}

void logPlay(Store &s, const std::string &id)
{
    if (auto ok = s.plays().append(playRecord(id)); !ok)
        die("play", ok.error());
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules("stoa.cache.info=false");
    if (argc != 4)
        return 64;
    const std::string mode = argv[1];
    StoreOptions o;
    o.dataDir = argv[2];
    o.limits.quotaBytes = 12u << 20; // small, so eviction runs during the crash test
    auto opened = Store::open(o);
    if (!opened)
        die("open", opened.error());
    Store &s = **opened;

    if (mode == "crash") {
        const quint32 seed = static_cast<quint32>(std::stoul(argv[3]));
        auto active = s.manifests().get(Slot::Active);
        std::int64_t v = active && *active ? (*active)->version : 0;
        std::printf("ready %lld\n", static_cast<long long>(v));
        std::fflush(stdout);
        for (;;) {
            ++v;
            activateVersion(s, seed, v);
            if (auto ok = s.kv().setInt("counter", v); !ok)
                die("kv", ok.error());
            logPlay(s, "play-" + std::to_string(v));
            std::printf("committed %lld\n", static_cast<long long>(v));
            std::fflush(stdout);
        }
    }
    if (mode == "writer") {
        const std::int64_t n = std::stoll(argv[3]);
        for (std::int64_t v = 1; v <= n; ++v) {
            activateVersion(s, 1, v);
            logPlay(s, "child-" + std::to_string(v));
            std::printf("active %lld\n", static_cast<long long>(v));
            std::fflush(stdout);
        }
        return 0;
    }
    return 64;
}
