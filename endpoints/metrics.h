// endpoints/metrics.h — a Prometheus metrics registry: counters, gauges and
// histograms, optionally labelled, rendered as text exposition format 0.0.4.
//
// Ownership: a MetricsRegistry is an ordinary object the process owns and
// passes to whoever records metrics (no globals). Handles (Counter, Gauge,
// Histogram, Family<...>) share ownership of their storage, so a handle stays
// valid even if it outlives the registry (writes then go nowhere visible).
//
// Thread safety: every method of the registry and of every handle may be
// called from any thread at any time. Counter/Gauge updates are lock-free
// atomics; a histogram observation takes one short per-child mutex.
//
// Naming rules, enforced at registration (a violation is an Error with code
// InvalidName and a message saying what to change — never an assert, so a
// bad name shows up in tests and logs, not as a crash):
//   * metric names match ^stoa_[a-z0-9_]*[a-z0-9]$ (lowercase snake case);
//   * counters end in "_total"; gauges and histograms do not;
//   * base units only: a name may not contain a unit word such as ms,
//     milliseconds, minutes, kb, mib, megabytes, bits, percent (use seconds,
//     bytes, a 0..1 ratio);
//   * no name may collide with a histogram's _bucket/_sum/_count series;
//   * label names match ^[a-z_][a-z0-9_]*$, not "__"-prefixed, unique, and a
//     histogram may not use "le";
//   * HELP text is required (promtool lints its absence).
// Registering the same name again with the identical definition returns the
// existing metric (so two modules may both ask for it); a different
// definition is an Error with code AlreadyRegistered.
//
// Collectors are callbacks run by render() just before the text is produced,
// to refresh gauges from state ("read the store's usage now"). They run on
// the rendering thread — the HTTP server's own thread — so they must only
// read thread-safe state; for thread-affine state (a cache::Store), let the
// owning thread push values into gauges instead. Collectors run one at a
// time (the collecting step of concurrent renders is serialised) and may
// update any metric; they must not add or remove collectors.
#pragma once

#include "endpoints/error.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::endpoints {

enum class MetricType { Counter, Gauge, Histogram };

namespace detail {
struct Cell;
struct FamilyData;
} // namespace detail

// A monotonically increasing count; the name ends in "_total".
class Counter {
public:
    Counter() = default; // detached: writes are ignored, value() is 0
    // Adds `by`; a negative or NaN amount is ignored (counters never go down).
    void inc(double by = 1.0) const;
    // For collectors mirroring a count kept elsewhere (e.g. evictions in the
    // store's database). A value lower than the current one reads to
    // Prometheus as a counter reset — only do that when the source reset.
    void setTotal(double total) const;
    double value() const;

private:
    friend class MetricsRegistry;
    template <class> friend class Family;
    explicit Counter(std::shared_ptr<detail::Cell> cell) : cell_(std::move(cell)) {}
    std::shared_ptr<detail::Cell> cell_;
};

// A value that goes up and down.
class Gauge {
public:
    Gauge() = default; // detached
    void set(double v) const;
    void inc(double by = 1.0) const;
    void dec(double by = 1.0) const { inc(-by); }
    double value() const;

private:
    friend class MetricsRegistry;
    template <class> friend class Family;
    explicit Gauge(std::shared_ptr<detail::Cell> cell) : cell_(std::move(cell)) {}
    std::shared_ptr<detail::Cell> cell_;
};

// Observations counted into fixed buckets (upper bounds inclusive, +Inf
// implicit), plus their sum and count.
class Histogram {
public:
    struct Snapshot {
        std::vector<double> upperBounds;         // as registered, without +Inf
        std::vector<std::uint64_t> cumulative;   // per bound, then +Inf last (== count)
        double sum = 0;
        std::uint64_t count = 0;
    };

    Histogram() = default; // detached
    void observe(double v) const; // NaN is ignored
    Snapshot snapshot() const;

private:
    friend class MetricsRegistry;
    template <class> friend class Family;
    explicit Histogram(std::shared_ptr<detail::Cell> cell) : cell_(std::move(cell)) {}
    std::shared_ptr<detail::Cell> cell_;
};

// A labelled metric: one child per distinct tuple of label values, created on
// first use and rendered from then on (sorted by label values).
template <class Child>
class Family {
public:
    Family() = default; // detached
    // Values in the order of the label names given at registration. A wrong
    // number of values is a programming error: it is logged and a detached
    // child returned (its writes go nowhere).
    Child labels(const std::vector<std::string> &values) const;
    const std::vector<std::string> &labelNames() const;
    // Drops the child of these label values: it is no longer rendered, so
    // Prometheus sees the series end (for series about things that go away,
    // e.g. a device revoked). A handle to it stays valid but its writes go
    // nowhere visible; labels() with the same values starts a new child from
    // zero. False when there was no such child.
    bool remove(const std::vector<std::string> &values) const;
    // The label values of every child, sorted (what render() would show).
    std::vector<std::vector<std::string>> children() const;

private:
    friend class MetricsRegistry;
    explicit Family(std::shared_ptr<detail::FamilyData> data) : data_(std::move(data)) {}
    std::shared_ptr<detail::FamilyData> data_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Bucket helpers: `count` bounds start, start+width, ... / start, start*factor, ...
// A registration's metric, or — when registration failed (a name clash, a
// broken naming rule) — a detached one whose writes go nowhere, with the
// error logged. For callers whose process must run on without that series.
template <class Metric>
Metric orDetached(Result<Metric> registered)
{
    if (registered)
        return *registered;
    logRegistrationFailure(registered.error());
    return Metric{};
}
void logRegistrationFailure(const Error &error);

std::vector<double> linearBuckets(double start, double width, int count);
std::vector<double> exponentialBuckets(double start, double factor, int count);

class MetricsRegistry {
public:
    using CollectorId = std::uint64_t;

    MetricsRegistry();
    ~MetricsRegistry();
    MetricsRegistry(const MetricsRegistry &) = delete;
    MetricsRegistry &operator=(const MetricsRegistry &) = delete;

    Result<Counter> counter(std::string_view name, std::string_view help);
    Result<Gauge> gauge(std::string_view name, std::string_view help);
    // upperBounds: finite, strictly increasing, non-empty; +Inf is added.
    Result<Histogram> histogram(std::string_view name, std::string_view help,
                                std::vector<double> upperBounds);

    Result<CounterFamily> counterFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> labelNames);
    Result<GaugeFamily> gaugeFamily(std::string_view name, std::string_view help,
                                    std::vector<std::string> labelNames);
    Result<HistogramFamily> histogramFamily(std::string_view name, std::string_view help,
                                            std::vector<double> upperBounds,
                                            std::vector<std::string> labelNames);

    // After removeCollector() returns, the callback is not running and never
    // runs again.
    CollectorId addCollector(std::function<void()> collect);
    void removeCollector(CollectorId id);

    // Runs the collectors, then renders every metric, families sorted by name.
    std::string render();

    // The naming rules above, usable without registering (e.g. in tests).
    static Result<void> checkName(std::string_view name, MetricType type);
    static Result<void> checkLabelName(std::string_view label, MetricType type);

private:
    Result<std::shared_ptr<detail::FamilyData>> add(std::string_view name, std::string_view help,
                                                    MetricType type, std::vector<double> bounds,
                                                    std::vector<std::string> labelNames);

    std::mutex mutex_; // guards families_
    std::map<std::string, std::shared_ptr<detail::FamilyData>, std::less<>> families_;

    std::mutex collectMutex_; // guards collectors_ and serialises renders
    std::vector<std::pair<CollectorId, std::function<void()>>> collectors_;
    CollectorId nextCollectorId_ = 1;
};

} // namespace stoa::endpoints
