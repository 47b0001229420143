// tests/sync/agent_harness.h — shared fixtures for the sync agent's tests.
//
// Job: the parts every agent test needs and none should rewrite: a signed
// site published with the real publisher (publish::publishSite) from media
// made up on the spot, an in-process agent driven step by step against a
// real store, a checker for "nothing bad became visible", a store on a real
// small file system, and small helpers over the FaultServer's request log.
//
// Invariants:
//  - every site is signed by the one root key of its TestSite, whose public
//    half (root.pub) is what the agents trust;
//  - AgentRig drives Agent::step() on the calling thread with the real
//    monotonic clock; waiting is always "until a condition or a deadline",
//    the sleeps between steps end at the agent's own next due time (or
//    sooner, so conditions on the server log are seen promptly);
//  - storeProblem() never changes the store: it reads files and the index.
#pragma once

#include "cache/file_hash.h"
#include "cache/store.h"
#include "fault_server.h"
#include "schedule/keys.h"
#include "schedule/trust_store.h"
#include "schedule/trusted_time.h"
#include "sync/agent.h"
#include "sync/http.h"
#include "publish/publish.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/mount.h>
#include <unistd.h>

namespace stoa::testing {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

inline QByteArray randomBytes(std::size_t n, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    QByteArray out(qsizetype(n), Qt::Uninitialized);
    for (auto &c : out)
        c = char(rng() & 0xFF);
    return out;
}

inline std::string sha256Hex(const QByteArray &bytes)
{
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex().toStdString();
}

inline std::string blobPath(const std::string &hex) { return "/v1/blobs/sha256/" + hex; }

inline double ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One media file of a schedule source.
struct Media {
    QString name;     // e.g. "a.png"; the extension decides the media type
    QByteArray bytes;
    std::string hex() const { return sha256Hex(bytes); }
    schedule::Digest digest() const { return *schedule::Digest::fromHex(hex()); }
};

// What a publish may change besides the media.
struct PublishExtras {
    QStringList devices;                    // per-device manifests; empty: the fleet one
    std::optional<std::int64_t> minVersion;
    QDateTime now;                          // issued_at; invalid: now
    std::int64_t expiresInMs = publish::kDefaultManifestLifetimeMs;
    QStringList screenshotCommands;         // ids of `screenshot` commands
    QStringList rebootCommands;             // ids of `reboot` commands (after the screenshots)
    int itemSeconds = 5;                    // each item's duration in the playlist

    // Chained setters (designated initializers trip -Wmissing-field-initializers).
    static PublishExtras version(std::int64_t v)
    {
        PublishExtras e;
        e.minVersion = v;
        return e;
    }
    PublishExtras &forDevices(QStringList ids) { devices = std::move(ids); return *this; }
    PublishExtras &issuedAt(QDateTime t, std::int64_t lifetimeMs) { now = std::move(t); expiresInMs = lifetimeMs; return *this; }
    PublishExtras &screenshots(QStringList ids) { screenshotCommands = std::move(ids); return *this; }
    PublishExtras &reboots(QStringList ids) { rebootCommands = std::move(ids); return *this; }
    PublishExtras &itemsLast(int seconds) { itemSeconds = seconds; return *this; }
};

// A root key and directories to publish into.
class TestSite {
public:
    TestSite()
    {
        auto k = schedule::PrivateKey::generate();
        if (!k || !m_dir.isValid()) {
            m_error = "cannot create a key or a temporary directory";
            return;
        }
        m_key.emplace(*k);
        QFile pub(rootPub());
        if (!pub.open(QIODevice::WriteOnly) || pub.write(m_key->publicKey().toPem()) < 0)
            m_error = "cannot write root.pub";
    }

    const std::string &error() const { return m_error; }
    QString path(const QString &rel) const { return m_dir.filePath(rel); }
    QString rootPub() const { return path("root.pub"); }
    QString site() const { return path("site"); }
    const schedule::PrivateKey &key() const { return *m_key; }

    // Writes a fresh source (schedule.ini naming `media` in one playlist)
    // and publishes it into `site` (default: site()).
    std::expected<publish::PublishResult, std::string> publish(const std::vector<Media> &media,
                                                             const PublishExtras &extras = {},
                                                             QString site = {})
    {
        const QString src = path(QStringLiteral("src-%1").arg(++m_sources));
        if (!QDir().mkpath(src))
            return std::unexpected("cannot create " + src.toStdString());
        QByteArray ini = "timezone = Europe/Oslo\ndefault = main\n\n[playlist main]\n";
        for (const auto &m : media) {
            QFile f(src + "/" + m.name);
            if (!f.open(QIODevice::WriteOnly) || f.write(m.bytes) != m.bytes.size())
                return std::unexpected("cannot write " + m.name.toStdString());
            ini += m.name.toUtf8() + " " + QByteArray::number(extras.itemSeconds) + "s\n";
        }
        for (const auto &id : extras.screenshotCommands)
            ini += "\n[command " + id.toUtf8() + "]\ntype = screenshot\n";
        for (const auto &id : extras.rebootCommands)
            ini += "\n[command " + id.toUtf8() + "]\ntype = reboot\n";
        QFile f(src + "/schedule.ini");
        if (!f.open(QIODevice::WriteOnly) || f.write(ini) != ini.size())
            return std::unexpected(std::string("cannot write schedule.ini"));
        f.close();
        publish::PublishOptions o;
        o.source = src;
        o.site = site.isEmpty() ? this->site() : site;
        o.devices = extras.devices;
        o.minVersion = extras.minVersion;
        o.now = extras.now;
        o.expiresInMs = extras.expiresInMs;
        auto r = publish::publishSite(o, *m_key);
        if (!r)
            return std::unexpected("publish: " + r.error().message.toStdString());
        return *r;
    }

    // A manifest envelope published into a scratch site of its own (so its
    // version is exactly extras.minVersion), for serving through a fault.
    std::expected<QByteArray, std::string> scratchEnvelope(const std::vector<Media> &media, const PublishExtras &extras)
    {
        const QString scratch = path(QStringLiteral("scratch-%1").arg(++m_sources));
        auto r = publish(media, extras, scratch);
        if (!r)
            return std::unexpected(r.error());
        QFile f(r->manifests.value(0));
        if (!f.open(QIODevice::ReadOnly))
            return std::unexpected("cannot read " + r->manifests.value(0).toStdString());
        return f.readAll();
    }

private:
    QTemporaryDir m_dir;
    std::optional<schedule::PrivateKey> m_key;
    std::string m_error;
    int m_sources = 0;
};

// What an in-process agent is configured with (test-sized timings).
struct RigOptions {
    sync::Millis base{100};
    sync::Millis cap{1600};
    sync::Millis syncInterval{300};
    sync::Millis statusInterval{300};
    sync::Millis unsupportedRetry{3600 * 1000};
    long lowSpeedTimeS = 1;
    int parallel = 3;
    int playsBatch = 500;
    std::string deviceId = "dev-1";
    std::uint64_t seed = 42;
    std::optional<schedule::Clocks> clocks; // nothing: the real ones
    std::optional<std::pair<int, int>> downloadWindow; // local minutes [from, until)
    sync::Millis repairInterval{200};          // active manifest's blobs re-checked
    std::uint64_t quotaBytes = 0;              // the store's quota; 0: none
};

// A store plus an agent on it, driven from the test's thread.
class AgentRig {
public:
    AgentRig(const QString &dataDir, const std::string &server, const QString &rootPub, RigOptions o = {})
        : m_options(std::move(o))
    {
        cache::StoreOptions so;
        so.dataDir = dataDir.toStdString();
        so.limits.minFreeBytes = 0;
        so.limits.quotaBytes = m_options.quotaBytes;
        auto store = cache::Store::open(so);
        if (!store) {
            m_error = "store: " + store.error().message;
            return;
        }
        m_store = std::move(*store);
        auto roots = schedule::loadPublicKeysPemFile(rootPub);
        if (!roots) {
            m_error = "root keys: " + roots.error().reason.toStdString();
            return;
        }
        sync::HttpOptions ho;
        ho.userAgent = "stoa/test (" + m_options.deviceId + ")";
        ho.lowSpeedTimeS = m_options.lowSpeedTimeS;
        ho.connectTimeoutS = 5;
        m_http = std::make_unique<sync::HttpClient>(ho);
        m_clock = std::make_unique<schedule::TrustedClock>(m_options.clocks.value_or(schedule::Clocks::system()),
                                                           std::nullopt);
        sync::AgentConfig c;
        c.server = server;
        c.dataDir = so.dataDir.string();
        c.deviceId = m_options.deviceId;
        c.backoff = {m_options.base, m_options.cap};
        c.syncInterval = m_options.syncInterval;
        c.statusInterval = m_options.statusInterval;
        c.unsupportedRetry = m_options.unsupportedRetry;
        c.parallelDownloads = m_options.parallel;
        c.lowSpeedTimeS = m_options.lowSpeedTimeS;
        c.playsBatch = m_options.playsBatch;
        c.minFreeBytes = 0;
        c.downloadWindow = m_options.downloadWindow;
        c.repairInterval = m_options.repairInterval;
        m_agent = std::make_unique<sync::Agent>(c, m_options.deviceId, *m_store, *m_http,
                                                schedule::TrustStore(std::move(*roots)), *m_clock, m_options.seed);
    }

    const std::string &error() const { return m_error; }
    cache::Store &store() { return *m_store; }
    sync::Agent &agent() { return *m_agent; }

    std::int64_t activeVersion()
    {
        auto m = m_store->manifests().get(cache::Slot::Active);
        return m && *m ? (*m)->version : 0;
    }
    std::int64_t stagedVersion()
    {
        auto m = m_store->manifests().get(cache::Slot::Staged);
        return m && *m ? (*m)->version : 0;
    }
    bool hasBlob(const std::string &hex)
    {
        auto c = m_store->blobs().contains(*schedule::Digest::fromHex(hex));
        return c && *c;
    }

    // Steps the agent until `done()` holds or `timeout` passes. `each` runs
    // after every step (invariant checks); it returns false to stop early.
    bool stepUntil(const std::function<bool()> &done, std::chrono::milliseconds timeout,
                   const std::function<bool()> &each = {})
    {
        const auto deadline = SteadyClock::now() + timeout;
        for (;;) {
            const auto next = m_agent->step(SteadyClock::now());
            if (each && !each())
                return false;
            if (done())
                return true;
            const auto now = SteadyClock::now();
            if (now >= deadline)
                return false;
            std::this_thread::sleep_until(std::min({next, deadline, now + 20ms}));
        }
    }

private:
    RigOptions m_options;
    std::string m_error;
    std::unique_ptr<cache::Store> m_store;
    std::unique_ptr<sync::HttpClient> m_http;
    std::unique_ptr<schedule::TrustedClock> m_clock;
    std::unique_ptr<sync::Agent> m_agent;
};

// A tmpfs of `size` ("2m") mounted on `dir` for the object's lifetime: a
// store on a real small file system. Mounting needs root: mounted() says.
class SmallFileSystem {
public:
    SmallFileSystem(const QString &dir, const char *size) : m_dir(dir.toStdString())
    {
        std::filesystem::create_directories(m_dir);
        m_mounted = ::geteuid() == 0 &&
                    ::mount("tmpfs", m_dir.c_str(), "tmpfs", 0, (std::string("size=") + size).c_str()) == 0;
    }
    ~SmallFileSystem()
    {
        if (m_mounted)
            ::umount2(m_dir.c_str(), MNT_DETACH);
    }
    bool mounted() const { return m_mounted; }
    bool grow(const char *size)
    {
        return ::mount("tmpfs", m_dir.c_str(), "tmpfs", MS_REMOUNT, (std::string("size=") + size).c_str()) == 0;
    }

private:
    std::string m_dir;
    bool m_mounted = false;
};

// Remembers blob files already hashed (they are immutable once visible).
struct VisibleBlobs {
    std::set<std::string> verified;
};

// Empty when every visible blob file hashes to its name (and, with
// `integrity`, SQLite's integrity_check says ok); otherwise the problem.
inline std::string blobsProblem(const std::filesystem::path &dataDir, VisibleBlobs &seen)
{
    const auto root = dataDir / "blobs" / "sha256";
    std::error_code ec;
    if (!std::filesystem::exists(root, ec))
        return {};
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file())
            continue;
        const std::string name = it->path().filename().string();
        if (seen.verified.contains(name))
            continue;
        auto digest = cache::sha256File(it->path());
        if (!digest)
            continue; // removed while we looked (eviction, recovery)
        if (digest->hex() != name)
            return "visible blob " + name + " hashes to " + digest->hex();
        seen.verified.insert(name);
    }
    return {};
}

inline std::string storeProblem(cache::Store &store, VisibleBlobs &seen, bool integrity)
{
    if (auto p = blobsProblem(store.dataDir(), seen); !p.empty())
        return p;
    if (auto list = store.blobs().list(); !list)
        return "blob index: " + list.error().message;
    if (integrity) {
        auto check = store.db().integrityCheck();
        if (!check)
            return "integrity_check: " + check.error().message;
        if (*check != "ok")
            return "integrity_check: " + *check;
    }
    return {};
}

inline std::vector<RecordedRequest> only(const std::vector<RecordedRequest> &log,
                                         const std::function<bool(const RecordedRequest &)> &keep)
{
    std::vector<RecordedRequest> out;
    for (const auto &r : log)
        if (keep(r))
            out.push_back(r);
    return out;
}

// Milliseconds between consecutive entries.
inline std::vector<double> gapsMs(const std::vector<RecordedRequest> &rs)
{
    std::vector<double> out;
    for (std::size_t i = 1; i < rs.size(); ++i)
        out.push_back(ms(rs[i].arrived - rs[i - 1].arrived));
    return out;
}

inline std::string describe(const std::vector<double> &gaps)
{
    std::string s;
    for (double g : gaps)
        s += (s.empty() ? "" : ", ") + std::to_string(int(g));
    return "[" + s + "] ms";
}

} // namespace stoa::testing
