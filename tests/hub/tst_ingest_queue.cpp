// tests/hub/tst_ingest_queue.cpp — the ingest queue's pipelined group commit
// (hub/ingest.h, DeferredSyncIngest; issue 16) on a real SQLite storage.
//
// The queue commits a batch, hands it to its syncer thread and commits the
// next one while the WAL syncs; a request is answered only once its batch
// is committed AND synced (a 2xx means stored). These tests hold the sync
// (HeldSync wraps the real SqliteStorage and makes syncCommitted() wait on
// a gate, then run the real one or fail) and check what a device would see:
// no answer before the sync, answers in commit order, a failed sync answers
// an error, a request's bytes count against the bound until it is answered,
// and stop() answers everything it accepted.
#include "hub/ingest.h"
#include "hub/sqlite_storage.h"

#include <QTemporaryDir>
#include <QTest>

#include <condition_variable>
#include <mutex>
#include <thread>

using namespace stoa::hub;

namespace {

// The real storage, with its sync held at a gate the test opens.
class HeldSync final : public Storage, public DeferredSyncIngest {
public:
    enum class Gate { Held, Pass, Fail };

    explicit HeldSync(std::unique_ptr<SqliteStorage> real) : real_(std::move(real)) {}

    void set(Gate gate)
    {
        {
            std::lock_guard lock(mutex_);
            gate_ = gate;
        }
        changed_.notify_all();
    }
    int commits() const
    {
        std::lock_guard lock(mutex_);
        return commits_;
    }
    int syncsEntered() const
    {
        std::lock_guard lock(mutex_);
        return syncsEntered_;
    }

    StorageResult<IngestCounts> ingest(const IngestBatch &) override
    {
        return std::unexpected(StorageError{StorageError::Code::Failed, "the queue must use the deferred path"});
    }
    StorageResult<IngestCounts> ingestCommitted(const IngestBatch &batch) override
    {
        auto r = real_->ingestCommitted(batch);
        std::lock_guard lock(mutex_);
        ++commits_;
        return r;
    }
    StorageResult<void> syncCommitted() override
    {
        std::unique_lock lock(mutex_);
        ++syncsEntered_;
        changed_.wait(lock, [&] { return gate_ != Gate::Held; });
        if (gate_ == Gate::Fail)
            return std::unexpected(StorageError{StorageError::Code::Failed, "the disk said no (test)"});
        lock.unlock();
        return real_->syncCommitted();
    }

    StorageResult<void> migrate() override { return real_->migrate(); }
    StorageResult<void> ping() override { return real_->ping(); }
    StorageResult<void> addDevice(const std::string &id, const std::string &tokenHash, std::int64_t nowMs) override { return real_->addDevice(id, tokenHash, nowMs); }
    StorageResult<void> setDeviceToken(const std::string &id, const std::string &tokenHash) override { return real_->setDeviceToken(id, tokenHash); }
    StorageResult<void> revokeDevice(const std::string &id) override { return real_->revokeDevice(id); }
    StorageResult<std::optional<std::string>> deviceForToken(const std::string &tokenHash) override { return real_->deviceForToken(tokenHash); }
    StorageResult<bool> deviceExists(const std::string &id) override { return real_->deviceExists(id); }
    StorageResult<std::vector<DeviceCredential>> credentialsSince(std::int64_t afterVersion) override { return real_->credentialsSince(afterVersion); }
    StorageResult<void> setDeviceGroup(const std::string &id, const std::optional<std::string> &group) override { return real_->setDeviceGroup(id, group); }
    StorageResult<void> setDeviceTags(const std::string &id, const std::vector<std::string> &tags) override { return real_->setDeviceTags(id, tags); }
    StorageResult<std::vector<DeviceSummary>> devices() override { return real_->devices(); }
    StorageResult<std::int64_t> deviceCount() override { return real_->deviceCount(); }
    StorageResult<std::optional<StatusReport>> latestStatus(const std::string &id) override { return real_->latestStatus(id); }
    StorageResult<std::vector<StatusReport>> statusHistory(const std::string &id, int limit) override { return real_->statusHistory(id, limit); }
    StorageResult<OnlineRecord> onlineStretches(const std::string &id, std::int64_t sinceMs) override { return real_->onlineStretches(id, sinceMs); }
    StorageResult<std::vector<PlayRecord>> plays(const std::string &id, int limit) override { return real_->plays(id, limit); }
    StorageResult<std::vector<PlayRecord>> playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs, int limit) override { return real_->playsReceivedBetween(fromMs, untilMs, limit); }
    StorageResult<std::int64_t> addAudit(const AuditEntry &entry) override { return real_->addAudit(entry); }
    StorageResult<std::vector<AuditEntry>> audit(std::int64_t beforeId, int limit) override { return real_->audit(beforeId, limit); }
    StorageResult<void> addOperator(const std::string &name, Role role, const std::string &tokenHash, std::int64_t nowMs) override { return real_->addOperator(name, role, tokenHash, nowMs); }
    StorageResult<std::optional<Operator>> operatorForToken(const std::string &tokenHash) override { return real_->operatorForToken(tokenHash); }
    StorageResult<void> setOperatorPassword(const std::string &name, const std::string &passwordHash) override { return real_->setOperatorPassword(name, passwordHash); }
    StorageResult<std::optional<std::pair<Operator, std::string>>> operatorPassword(const std::string &name) override { return real_->operatorPassword(name); }
    StorageResult<void> addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs) override { return real_->addSession(tokenHash, name, expiresAtMs); }
    StorageResult<std::optional<Operator>> sessionOperator(const std::string &tokenHash, std::int64_t nowMs) override { return real_->sessionOperator(tokenHash, nowMs); }
    StorageResult<void> removeSession(const std::string &tokenHash) override { return real_->removeSession(tokenHash); }
    StorageResult<std::vector<std::string>> trimScreenshots(const std::string &deviceId, int keep) override { return real_->trimScreenshots(deviceId, keep); }
    StorageResult<std::int64_t> applyRetention(const Retention &retention, std::int64_t nowMs) override { return real_->applyRetention(retention, nowMs); }

private:
    std::unique_ptr<SqliteStorage> real_;
    mutable std::mutex mutex_; // guards the members below
    std::condition_variable changed_;
    Gate gate_ = Gate::Held;
    int commits_ = 0;
    int syncsEntered_ = 0;
};

IngestBatch heartbeat(const std::string &device, std::int64_t version)
{
    IngestBatch b;
    b.statuses.push_back({device, 1'000'000 + version, version,
                          "{\"device_id\":\"" + device + "\",\"manifest\":{\"version\":" + std::to_string(version) + "}}"});
    return b;
}

// Opens the gate when it goes: declared after a queue, it lets a failed
// test's queue finish its stop() instead of waiting on a held sync.
struct OpenAtExit {
    HeldSync &storage;
    ~OpenAtExit() { storage.set(HeldSync::Gate::Pass); }
};

// The answers a test's submissions got, in the order they came.
struct Answers {
    std::mutex mutex;
    std::vector<std::pair<std::string, bool>> got; // (name, ok)
    std::vector<std::string> errors;

    IngestQueue::Done to(std::string name)
    {
        return [this, name](const StorageResult<IngestCounts> &r) {
            std::lock_guard lock(mutex);
            got.emplace_back(name, r.has_value());
            if (!r)
                errors.push_back(r.error().message);
        };
    }
    std::size_t count()
    {
        std::lock_guard lock(mutex);
        return got.size();
    }
};

} // namespace

class IngestQueueTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> dir;
    std::unique_ptr<HeldSync> storage;

private slots:
    void init()
    {
        dir = std::make_unique<QTemporaryDir>();
        QVERIFY(dir->isValid());
        auto real = SqliteStorage::open((dir->path() + "/hub.db").toStdString());
        QVERIFY2(real.has_value(), real ? "" : real.error().message.c_str());
        storage = std::make_unique<HeldSync>(std::move(*real));
        QVERIFY(storage->migrate().has_value());
        for (const char *device : {"pi-1", "pi-2", "pi-3"})
            QVERIFY(storage->addDevice(device, std::string("hash-") + device, 1'000'000).has_value());
    }

    // Committed (a reader sees it) is not stored: the answer waits for the sync.
    void anAnswerWaitsForTheSync()
    {
        Answers answers;
        IngestQueue queue(*storage, {});
        OpenAtExit release{*storage};
        QVERIFY(queue.submit(heartbeat("pi-1", 7), 100, answers.to("a")));
        QTRY_COMPARE_WITH_TIMEOUT(storage->syncsEntered(), 1, 10000);
        QCOMPARE(storage->commits(), 1);
        const auto seen = storage->latestStatus("pi-1");
        QVERIFY(seen && *seen && (*seen)->manifestVersion == 7);
        QCOMPARE(answers.count(), std::size_t{0});
        QCOMPARE(queue.stats().pendingBytes, std::size_t{100});

        storage->set(HeldSync::Gate::Pass);
        QTRY_COMPARE_WITH_TIMEOUT(answers.count(), std::size_t{1}, 10000);
        QVERIFY(answers.got[0].second);
        QCOMPARE(queue.stats().pendingBytes, std::size_t{0});
        QCOMPARE(queue.stats().committedBatches, std::uint64_t{1});
    }

    // The pipelining itself: the next batch commits while one syncs, and the
    // answers come in commit order once the sync is through.
    void theNextBatchCommitsWhileOneSyncs()
    {
        Answers answers;
        IngestQueue queue(*storage, {});
        OpenAtExit release{*storage};
        QVERIFY(queue.submit(heartbeat("pi-1", 1), 10, answers.to("first")));
        QTRY_COMPARE_WITH_TIMEOUT(storage->syncsEntered(), 1, 10000);
        QVERIFY(queue.submit(heartbeat("pi-2", 2), 10, answers.to("second")));
        QTRY_COMPARE_WITH_TIMEOUT(storage->commits(), 2, 10000); // while the first one's sync is held
        QCOMPARE(answers.count(), std::size_t{0});

        storage->set(HeldSync::Gate::Pass);
        QTRY_COMPARE_WITH_TIMEOUT(answers.count(), std::size_t{2}, 10000);
        QCOMPARE(answers.got[0].first, std::string("first"));
        QCOMPARE(answers.got[1].first, std::string("second"));
        QVERIFY(answers.got[0].second && answers.got[1].second);
        QVERIFY(storage->syncsEntered() <= 2);
    }

    // A commit that could not be synced is not stored: an error (the hub
    // answers 5xx, the device sends it again), and the queue goes on.
    void aFailedSyncAnswersAnError()
    {
        Answers answers;
        IngestQueue queue(*storage, {});
        OpenAtExit release{*storage};
        QVERIFY(queue.submit(heartbeat("pi-1", 1), 10, answers.to("lost")));
        QTRY_COMPARE_WITH_TIMEOUT(storage->syncsEntered(), 1, 10000);
        storage->set(HeldSync::Gate::Fail);
        QTRY_COMPARE_WITH_TIMEOUT(answers.count(), std::size_t{1}, 10000);
        QVERIFY(!answers.got[0].second);
        QVERIFY2(answers.errors[0].find("the disk said no") != std::string::npos, answers.errors[0].c_str());
        QCOMPARE(queue.stats().failedBatches, std::uint64_t{1});
        QCOMPARE(queue.stats().pendingBytes, std::size_t{0});

        storage->set(HeldSync::Gate::Pass);
        QVERIFY(queue.submit(heartbeat("pi-1", 2), 10, answers.to("next")));
        QTRY_COMPARE_WITH_TIMEOUT(answers.count(), std::size_t{2}, 10000);
        QVERIFY(answers.got[1].second);
    }

    // The memory bound counts a request until it is answered, not until it
    // is committed: a slow disk cannot let the hub accept without limit.
    void bytesCountUntilTheAnswer()
    {
        Answers answers;
        IngestOptions options;
        options.maxPendingBytes = 100;
        IngestQueue queue(*storage, options);
        OpenAtExit release{*storage};
        QVERIFY(queue.submit(heartbeat("pi-1", 1), 80, answers.to("big")));
        QTRY_COMPARE_WITH_TIMEOUT(storage->syncsEntered(), 1, 10000);
        QVERIFY(!queue.submit(heartbeat("pi-2", 1), 30, answers.to("refused"))); // 80 + 30 > 100
        QCOMPARE(queue.stats().refused, std::uint64_t{1});

        storage->set(HeldSync::Gate::Pass);
        QTRY_COMPARE_WITH_TIMEOUT(answers.count(), std::size_t{1}, 10000);
        QVERIFY(queue.submit(heartbeat("pi-2", 1), 30, answers.to("accepted")));
        QTRY_COMPARE_WITH_TIMEOUT(answers.count(), std::size_t{2}, 10000);
        QCOMPARE(answers.got[1].first, std::string("accepted"));
    }

    // stop() answers every accepted request, after its sync, before it returns.
    void stopAnswersEverything()
    {
        Answers answers;
        auto queue = std::make_unique<IngestQueue>(*storage, IngestOptions{});
        OpenAtExit release{*storage};
        QVERIFY(queue->submit(heartbeat("pi-1", 1), 10, answers.to("a")));
        QTRY_COMPARE_WITH_TIMEOUT(storage->syncsEntered(), 1, 10000);
        QVERIFY(queue->submit(heartbeat("pi-2", 1), 10, answers.to("b")));
        QVERIFY(queue->submit(heartbeat("pi-3", 1), 10, answers.to("c")));
        std::thread stopper([&] { queue->stop(); });
        storage->set(HeldSync::Gate::Pass);
        stopper.join();
        QCOMPARE(answers.count(), std::size_t{3});
        for (const auto &[name, ok] : answers.got)
            QVERIFY2(ok, name.c_str());
        for (const char *device : {"pi-1", "pi-2", "pi-3"}) {
            const auto seen = storage->latestStatus(device);
            QVERIFY2(seen && *seen, device);
        }
    }
};

QTEST_GUILESS_MAIN(IngestQueueTest)
#include "tst_ingest_queue.moc"
