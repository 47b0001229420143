// hub/health_probe.cpp — HealthProbe (health_probe.h): the probe thread and
// the verdict read from its last result.
#include "hub/health_probe.h"

#include "hub/logging.h"

namespace stoa::hub {

using Clock = std::chrono::steady_clock;

namespace {

std::int64_t msBetween(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

} // namespace

HealthProbe::HealthProbe(Check database, Check dataDir, std::string dataDirLabel, Options options)
    : database_(std::move(database)), dataDir_(std::move(dataDir)), dataDirLabel_(std::move(dataDirLabel)),
      options_(options)
{
}

HealthProbe::~HealthProbe() { stop(); }

void HealthProbe::start()
{
    std::unique_lock lock(mutex_);
    if (thread_.joinable())
        return;
    stop_ = false;
    const std::uint64_t before = rounds_;
    thread_ = std::thread([this] { run(); });
    wake_.wait_for(lock, options_.deadline, [&] { return rounds_ > before; });
}

void HealthProbe::stop()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

std::uint64_t HealthProbe::rounds() const
{
    std::lock_guard lock(mutex_);
    return rounds_;
}

void HealthProbe::run()
{
    std::unique_lock lock(mutex_);
    bool wasHealthy = true;
    while (!stop_) {
        stage_ = Stage::Database;
        roundStart_ = Clock::now();
        lock.unlock();
        auto db = database_();
        lock.lock();
        stage_ = Stage::DataDir;
        lock.unlock();
        auto dir = dataDir_();
        lock.lock();
        stage_ = Stage::Idle;
        roundEnd_ = Clock::now();
        const std::int64_t took = msBetween(roundStart_, roundEnd_);
        lastTookMs_ = took;
        dbProblem_ = std::move(db);
        dirProblem_ = std::move(dir);
        ++rounds_;
        wake_.notify_all(); // start() waits for the first round
        // Transitions only: a load balancer asks several times a second.
        const bool healthy = !dbProblem_ && !dirProblem_ && took <= options_.deadline.count();
        if (healthy != wasHealthy) {
            if (healthy)
                qCInfo(lcHub).noquote() << "health: healthy again (round took" << took << "ms)";
            else
                qCWarning(lcHub).noquote() << "health: unhealthy:"
                                           << (dbProblem_ ? ("database: " + *dbProblem_).c_str()
                                               : dirProblem_ ? (dataDirLabel_ + " is " + *dirProblem_).c_str()
                                                             : "the round was slow")
                                           << "(round took" << took << "ms)";
            wasHealthy = healthy;
        }
        wake_.wait_for(lock, options_.interval, [this] { return stop_; });
    }
}

HealthVerdict HealthProbe::current() const
{
    std::lock_guard lock(mutex_);
    HealthVerdict v;
    const auto now = Clock::now();
    if (rounds_ > 0)
        v.ageMs = msBetween(roundEnd_, now);
    v.databaseUp = !dbProblem_;
    v.dataDirProblem = dirProblem_.value_or(std::string());
    const std::int64_t deadline = options_.deadline.count();
    // A round past its deadline: the check it is in hangs. The previous
    // result no longer counts for that part.
    if (stage_ != Stage::Idle) {
        const std::int64_t running = msBetween(roundStart_, now);
        if (running > deadline) {
            // Said once per hung round: the probe thread itself cannot (it
            // is the one waiting), and a load balancer asks many times.
            if (hungLogged_ != rounds_) {
                hungLogged_ = rounds_;
                qCWarning(lcHub).noquote() << "health: unhealthy: the"
                                           << (stage_ == Stage::Database ? "database ping" : "data directory check")
                                           << "has been running for" << running << "ms (deadline" << deadline << "ms)";
            }
            if (stage_ == Stage::Database) {
                v.databaseUp = false;
                v.why = "database: no answer to a ping for " + std::to_string(running) + " ms (deadline "
                        + std::to_string(deadline) + " ms)";
            } else {
                v.dataDirProblem = "not answering";
                v.why = dataDirLabel_ + " is not answering: its check has been running for "
                        + std::to_string(running) + " ms (deadline " + std::to_string(deadline) + " ms)";
            }
            return v;
        }
    }
    if (dbProblem_) {
        v.why = "database: " + *dbProblem_;
    } else if (dirProblem_) {
        v.why = dataDirLabel_ + " is " + *dirProblem_;
    } else if (rounds_ == 0) {
        v.why = "health: not probed yet";
    } else if (v.ageMs > options_.interval.count() + deadline) {
        // The probe thread itself is late (stopped, or starved of CPU).
        v.why = "health: the last probe finished " + std::to_string(v.ageMs) + " ms ago";
    } else if (lastTookMs_ > deadline) {
        // It did answer, too late: until a round answers in time.
        v.why = "database or data directory slow: the last probe took " + std::to_string(lastTookMs_)
                + " ms (deadline " + std::to_string(deadline) + " ms)";
    }
    return v;
}

} // namespace stoa::hub
