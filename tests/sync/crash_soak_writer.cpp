// tests/sync/crash_soak_writer.cpp — the victim of tst_crash_soak: writes to a store until SIGKILLed.
//
// Usage: crash_soak_writer DATA_DIR SEED
//
// Opens the store (recovery runs, as at every start of a real process),
// prints "ready", then loops forever over what the device's writers do:
//   b  a blob download: BlobWriter open (resuming a partial left by the
//      last victim), bytes in a few writes, seal, commit (rename + index);
//   p  play records appended, mostly acknowledged (the uploader);
//   a  an activation: a manifest pinning a few indexed blobs staged, then
//      activated (one transaction, then the mirror in manifests/);
//   e  eviction of blobs no manifest pins, so blobs/ stays small.
// Before each operation it writes the operation's letter to stdout
// (unbuffered), so the test knows what a kill interrupted. Deterministic
// from SEED, so a corruption found can be replayed.
#include "cache/blob_writer.h"
#include "cache/file_hash.h"
#include "cache/store.h"

#include <QCryptographicHash>

#include <algorithm>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace stoa;

namespace {

void mark(char c)
{
    std::fputc(c, stdout);
    std::fflush(stdout);
}

[[noreturn]] void fail(const std::string &what)
{
    std::fprintf(stderr, "crash_soak_writer: %s\n", what.c_str());
    std::exit(2);
}

std::string randomBytes(std::mt19937_64 &rng, std::size_t n)
{
    std::string s(n, '\0');
    for (auto &c : s)
        c = char(rng() & 0xFF);
    return s;
}

// Qt's hash, not the store's: the check must not share the code it checks.
stoa::schedule::Digest digestOf(const std::string &bytes)
{
    return *stoa::schedule::Digest::fromHex(
        QCryptographicHash::hash(QByteArray::fromStdString(bytes), QCryptographicHash::Sha256).toHex().toStdString());
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 3)
        fail("usage: crash_soak_writer DATA_DIR SEED");
    std::mt19937_64 rng(std::stoull(argv[2]));
    cache::StoreOptions so;
    so.dataDir = argv[1];
    so.limits.minFreeBytes = 0;
    so.maxPlayRecords = 5000;
    auto opened = cache::Store::open(so);
    if (!opened)
        fail("open: " + opened.error().message);
    cache::Store &store = **opened;
    std::fputs("ready\n", stdout);
    std::fflush(stdout);

    std::int64_t playSerial = 0;
    for (;;) {
        const auto roll = rng() % 100;
        if (roll < 45) {
            // A blob: sizes from a few bytes to 1 MiB, several writes each.
            mark('b');
            const std::string bytes = randomBytes(rng, std::size_t(1) << (4 + rng() % 17));
            auto w = cache::BlobWriter::open(store.blobs(), store.space(), digestOf(bytes), bytes.size());
            if (!w)
                continue; // Busy: impossible here (one writer), or no space; the check finds any harm
            std::size_t at = w->offset();
            while (at < bytes.size()) {
                const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + rng() % 65536);
                if (!w->write(std::as_bytes(std::span(bytes.data() + at, n))))
                    fail("blob write");
                at += n;
            }
            if (auto c = w->commit(); !c)
                fail("commit: " + c.error().message);
        } else if (roll < 75) {
            mark('p');
            const int n = 1 + int(rng() % 50);
            for (int i = 0; i < n; ++i) {
                cache::PlayRecord r;
                r.id = "soak-" + std::string(argv[2]) + "-" + std::to_string(++playSerial);
                r.asset = digestOf(std::to_string(playSerial)).ref();
                r.playlist = "main";
                r.startedAt = "2026-11-23T10:00:00Z";
                r.durationMs = 8000;
                r.completed = true;
                if (auto a = store.plays().append(r); !a)
                    fail("append: " + a.error().message);
            }
            if (rng() % 3 != 0) { // the uploader keeps up mostly: the log stays small
                auto batch = store.plays().batch(100);
                if (batch && !batch->empty())
                    (void)store.plays().acknowledge(batch->back().seq);
            }
        } else if (roll < 95) {
            mark('a');
            auto blobs = store.blobs().list();
            if (!blobs || blobs->empty())
                continue;
            auto active = store.manifests().get(cache::Slot::Active);
            auto floor = store.manifests().rollbackFloor();
            if (!active || !floor)
                fail("read manifests");
            cache::StoredManifest m;
            m.version = std::max(*active ? (*active)->version : std::int64_t{0}, *floor) + 1;
            for (int i = 0; i < 3; ++i)
                m.assets.push_back((*blobs)[rng() % blobs->size()].digest);
            std::sort(m.assets.begin(), m.assets.end());
            m.assets.erase(std::unique(m.assets.begin(), m.assets.end()), m.assets.end());
            // Not a real envelope: the store keeps bytes, it does not parse them.
            m.envelope = "{\"soak_manifest\":" + std::to_string(m.version) + ",\"pad\":\"" +
                         std::string(std::size_t(rng() % 20000), 'x') + "\"}";
            if (auto s = store.manifests().stage(m); !s)
                fail("stage: " + s.error().message);
            if (auto a = store.manifests().activateStaged(); !a)
                fail("activate: " + a.error().message);
        } else {
            mark('e');
            auto indexed = store.blobs().indexedCount();
            if (indexed && *indexed > 40)
                (void)store.blobs().evict(std::uint64_t(1) << 40); // every unpinned blob
        }
    }
}
