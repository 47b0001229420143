// endpoints/metrics.cpp — see metrics.h.
//
// Storage: a FamilyData per registered name, holding its children (Cell) in a
// map keyed by label values. Counter and gauge values are std::atomic<double>;
// a histogram child keeps per-bucket (non-cumulative) counts under its own
// mutex so sum and count stay consistent with the buckets in a snapshot.
#include "endpoints/metrics.h"

#include "endpoints/exposition.h"
#include "endpoints/logging.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>

namespace stoa::endpoints {

namespace detail {

struct Cell {
    std::atomic<double> value{0.0}; // counter or gauge

    // Histogram only.
    std::mutex mutex;
    std::vector<double> bounds;        // shared copy of the family's bounds
    std::vector<std::uint64_t> counts; // per bucket, +Inf last; not cumulative
    double sum = 0;
    std::uint64_t count = 0;
};

struct FamilyData {
    std::string name;
    std::string help;
    MetricType type = MetricType::Gauge;
    std::vector<std::string> labelNames;
    std::vector<double> bounds; // histogram upper bounds, without +Inf

    std::mutex mutex; // guards children
    std::map<std::vector<std::string>, std::shared_ptr<Cell>> children;

    std::shared_ptr<Cell> child(const std::vector<std::string> &values)
    {
        std::lock_guard lock(mutex);
        auto &slot = children[values];
        if (!slot) {
            slot = std::make_shared<Cell>();
            if (type == MetricType::Histogram) {
                slot->bounds = bounds;
                slot->counts.assign(bounds.size() + 1, 0);
            }
        }
        return slot;
    }
};

} // namespace detail

// ---- handles ---------------------------------------------------------------

void Counter::inc(double by) const
{
    if (!cell_ || !(by >= 0))
        return;
    cell_->value.fetch_add(by, std::memory_order_relaxed);
}

void Counter::setTotal(double total) const
{
    if (cell_ && total >= 0)
        cell_->value.store(total, std::memory_order_relaxed);
}

double Counter::value() const
{
    return cell_ ? cell_->value.load(std::memory_order_relaxed) : 0.0;
}

void Gauge::set(double v) const
{
    if (cell_)
        cell_->value.store(v, std::memory_order_relaxed);
}

void Gauge::inc(double by) const
{
    if (cell_)
        cell_->value.fetch_add(by, std::memory_order_relaxed);
}

double Gauge::value() const
{
    return cell_ ? cell_->value.load(std::memory_order_relaxed) : 0.0;
}

void Histogram::observe(double v) const
{
    if (!cell_ || std::isnan(v))
        return;
    // Upper bounds are inclusive: the first bound >= v takes it.
    const auto it = std::lower_bound(cell_->bounds.begin(), cell_->bounds.end(), v);
    const auto index = std::size_t(it - cell_->bounds.begin());
    std::lock_guard lock(cell_->mutex);
    ++cell_->counts[index];
    cell_->sum += v;
    ++cell_->count;
}

namespace {

Histogram::Snapshot snapshotOf(detail::Cell &cell)
{
    Histogram::Snapshot s;
    s.upperBounds = cell.bounds;
    std::lock_guard lock(cell.mutex);
    std::uint64_t running = 0;
    for (auto c : cell.counts) {
        running += c;
        s.cumulative.push_back(running);
    }
    s.sum = cell.sum;
    s.count = cell.count;
    return s;
}

} // namespace

Histogram::Snapshot Histogram::snapshot() const
{
    return cell_ ? snapshotOf(*cell_) : Snapshot{};
}

template <class Child>
Child Family<Child>::labels(const std::vector<std::string> &values) const
{
    if (!data_)
        return Child();
    if (values.size() != data_->labelNames.size()) {
        qCWarning(lcEndpoints) << "metric" << data_->name.c_str() << "takes"
                               << data_->labelNames.size() << "label values, got" << values.size();
        return Child();
    }
    return Child(data_->child(values));
}

template <class Child>
bool Family<Child>::remove(const std::vector<std::string> &values) const
{
    if (!data_)
        return false;
    std::lock_guard lock(data_->mutex);
    return data_->children.erase(values) > 0;
}

template <class Child>
std::vector<std::vector<std::string>> Family<Child>::children() const
{
    std::vector<std::vector<std::string>> out;
    if (!data_)
        return out;
    std::lock_guard lock(data_->mutex);
    out.reserve(data_->children.size());
    for (const auto &[values, cell] : data_->children)
        out.push_back(values);
    return out;
}

template <class Child>
const std::vector<std::string> &Family<Child>::labelNames() const
{
    static const std::vector<std::string> none;
    return data_ ? data_->labelNames : none;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::vector<double> linearBuckets(double start, double width, int count)
{
    std::vector<double> b;
    for (int i = 0; i < count; ++i)
        b.push_back(start + width * i);
    return b;
}

std::vector<double> exponentialBuckets(double start, double factor, int count)
{
    std::vector<double> b;
    double v = start;
    for (int i = 0; i < count; ++i, v *= factor)
        b.push_back(v);
    return b;
}

// ---- naming rules -----------------------------------------------------------

namespace {

const char *typeName(MetricType t)
{
    switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    }
    return "untyped";
}

bool endsWith(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct UnitWord {
    std::string_view word;
    std::string_view use;
};

// Words that betray a non-base unit, and what to use instead.
constexpr std::array kNonBaseUnits = {
    UnitWord{"ms", "seconds"},      UnitWord{"msec", "seconds"},   UnitWord{"millis", "seconds"},
    UnitWord{"milliseconds", "seconds"}, UnitWord{"us", "seconds"}, UnitWord{"usec", "seconds"},
    UnitWord{"microseconds", "seconds"}, UnitWord{"ns", "seconds"}, UnitWord{"nanoseconds", "seconds"},
    UnitWord{"secs", "seconds"},    UnitWord{"second", "seconds"}, UnitWord{"min", "seconds"},
    UnitWord{"mins", "seconds"},    UnitWord{"minutes", "seconds"}, UnitWord{"hours", "seconds"},
    UnitWord{"days", "seconds"},    UnitWord{"byte", "bytes"},     UnitWord{"kb", "bytes"},
    UnitWord{"kib", "bytes"},       UnitWord{"kilobytes", "bytes"}, UnitWord{"mb", "bytes"},
    UnitWord{"mib", "bytes"},       UnitWord{"megabytes", "bytes"}, UnitWord{"gb", "bytes"},
    UnitWord{"gib", "bytes"},       UnitWord{"gigabytes", "bytes"}, UnitWord{"bits", "bytes"},
    UnitWord{"percent", "a 0..1 ratio"}, UnitWord{"pct", "a 0..1 ratio"},
    UnitWord{"fahrenheit", "celsius"},
};

bool lowerSnake(std::string_view s, bool allowLeadingDigit)
{
    if (s.empty())
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool ok = (c >= 'a' && c <= 'z') || c == '_'
                        || (c >= '0' && c <= '9' && (i > 0 || allowLeadingDigit));
        if (!ok)
            return false;
    }
    return true;
}

} // namespace

Result<void> MetricsRegistry::checkName(std::string_view name, MetricType type)
{
    const std::string quoted = "metric name \"" + std::string(name) + "\"";
    if (!name.starts_with("stoa_") || name.size() <= 5)
        return fail(ErrorCode::InvalidName, quoted + " must start with \"stoa_\"");
    if (!lowerSnake(name, false) || name.back() == '_')
        return fail(ErrorCode::InvalidName,
                    quoted + " must be lowercase snake case ([a-z0-9_], not ending in '_')");
    const bool total = endsWith(name, "_total");
    if (type == MetricType::Counter && !total)
        return fail(ErrorCode::InvalidName, quoted + ": a counter's name must end in \"_total\"");
    if (type != MetricType::Counter && total)
        return fail(ErrorCode::InvalidName, quoted + ": only counters end in \"_total\" (this is a "
                                                + typeName(type) + ")");
    if (type == MetricType::Histogram
        && (endsWith(name, "_bucket") || endsWith(name, "_sum") || endsWith(name, "_count")))
        return fail(ErrorCode::InvalidName,
                    quoted + ": a histogram's name may not end in _bucket, _sum or _count");
    std::size_t start = 5;
    while (start <= name.size()) {
        const auto end = std::min(name.find('_', start), name.size());
        const auto word = name.substr(start, end - start);
        for (const auto &u : kNonBaseUnits) {
            if (word == u.word)
                return fail(ErrorCode::InvalidName, quoted + " uses the unit \"" + std::string(word)
                                                        + "\": use base units (" + std::string(u.use)
                                                        + ")");
        }
        start = end + 1;
    }
    return {};
}

Result<void> MetricsRegistry::checkLabelName(std::string_view label, MetricType type)
{
    const std::string quoted = "label name \"" + std::string(label) + "\"";
    if (!lowerSnake(label, false))
        return fail(ErrorCode::InvalidName, quoted + " must match [a-z_][a-z0-9_]*");
    if (label.starts_with("__"))
        return fail(ErrorCode::InvalidName, quoted + ": names starting with \"__\" are reserved");
    if (type == MetricType::Histogram && label == "le")
        return fail(ErrorCode::InvalidName, quoted + " is reserved for histogram buckets");
    return {};
}

// ---- registry ---------------------------------------------------------------

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Result<std::shared_ptr<detail::FamilyData>>
MetricsRegistry::add(std::string_view name, std::string_view help, MetricType type,
                     std::vector<double> bounds, std::vector<std::string> labelNames)
{
    if (auto ok = checkName(name, type); !ok)
        return std::unexpected(ok.error());
    for (std::size_t i = 0; i < labelNames.size(); ++i) {
        if (auto ok = checkLabelName(labelNames[i], type); !ok)
            return std::unexpected(ok.error());
        if (std::find(labelNames.begin(), labelNames.begin() + std::ptrdiff_t(i), labelNames[i])
            != labelNames.begin() + std::ptrdiff_t(i))
            return fail(ErrorCode::InvalidName, "label name \"" + labelNames[i]
                                                    + "\" appears twice in " + std::string(name));
    }
    if (help.empty())
        return fail(ErrorCode::InvalidArgument, "metric " + std::string(name) + " needs HELP text");
    if (type == MetricType::Histogram) {
        if (bounds.empty())
            return fail(ErrorCode::InvalidArgument,
                        "histogram " + std::string(name) + " needs at least one bucket bound");
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            if (!std::isfinite(bounds[i]))
                return fail(ErrorCode::InvalidArgument,
                            "histogram " + std::string(name)
                                + ": bucket bounds must be finite (+Inf is implicit)");
            if (i > 0 && !(bounds[i] > bounds[i - 1]))
                return fail(ErrorCode::InvalidArgument,
                            "histogram " + std::string(name)
                                + ": bucket bounds must be strictly increasing");
        }
    }

    std::lock_guard lock(mutex_);
    if (auto it = families_.find(name); it != families_.end()) {
        const auto &f = *it->second;
        if (f.type == type && f.help == help && f.labelNames == labelNames && f.bounds == bounds)
            return it->second;
        return fail(ErrorCode::AlreadyRegistered,
                    "metric " + std::string(name) + " is already registered as a "
                        + typeName(f.type) + " with a different definition");
    }
    // A histogram's series names must not meet another family's name.
    static constexpr std::array kSeries = {std::string_view("_bucket"), std::string_view("_sum"),
                                           std::string_view("_count")};
    for (auto suffix : kSeries) {
        if (endsWith(name, suffix)) {
            auto base = families_.find(name.substr(0, name.size() - suffix.size()));
            if (base != families_.end() && base->second->type == MetricType::Histogram)
                return fail(ErrorCode::AlreadyRegistered,
                            "metric " + std::string(name) + " collides with histogram "
                                + base->first + "'s series");
        }
        if (type == MetricType::Histogram) {
            const std::string series = std::string(name) + std::string(suffix);
            if (families_.contains(series))
                return fail(ErrorCode::AlreadyRegistered,
                            "histogram " + std::string(name) + "'s series collide with metric "
                                + series);
        }
    }

    auto data = std::make_shared<detail::FamilyData>();
    data->name = std::string(name);
    data->help = std::string(help);
    data->type = type;
    data->labelNames = std::move(labelNames);
    data->bounds = std::move(bounds);
    if (data->labelNames.empty())
        data->child({}); // an unlabelled metric is rendered (as 0) from registration on
    families_.emplace(data->name, data);
    return data;
}

Result<Counter> MetricsRegistry::counter(std::string_view name, std::string_view help)
{
    auto f = add(name, help, MetricType::Counter, {}, {});
    if (!f)
        return std::unexpected(f.error());
    return Counter((*f)->child({}));
}

Result<Gauge> MetricsRegistry::gauge(std::string_view name, std::string_view help)
{
    auto f = add(name, help, MetricType::Gauge, {}, {});
    if (!f)
        return std::unexpected(f.error());
    return Gauge((*f)->child({}));
}

Result<Histogram> MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                             std::vector<double> upperBounds)
{
    auto f = add(name, help, MetricType::Histogram, std::move(upperBounds), {});
    if (!f)
        return std::unexpected(f.error());
    return Histogram((*f)->child({}));
}

Result<CounterFamily> MetricsRegistry::counterFamily(std::string_view name, std::string_view help,
                                                     std::vector<std::string> labelNames)
{
    auto f = add(name, help, MetricType::Counter, {}, std::move(labelNames));
    if (!f)
        return std::unexpected(f.error());
    return CounterFamily(*f);
}

Result<GaugeFamily> MetricsRegistry::gaugeFamily(std::string_view name, std::string_view help,
                                                 std::vector<std::string> labelNames)
{
    auto f = add(name, help, MetricType::Gauge, {}, std::move(labelNames));
    if (!f)
        return std::unexpected(f.error());
    return GaugeFamily(*f);
}

Result<HistogramFamily> MetricsRegistry::histogramFamily(std::string_view name,
                                                         std::string_view help,
                                                         std::vector<double> upperBounds,
                                                         std::vector<std::string> labelNames)
{
    auto f = add(name, help, MetricType::Histogram, std::move(upperBounds), std::move(labelNames));
    if (!f)
        return std::unexpected(f.error());
    return HistogramFamily(*f);
}

MetricsRegistry::CollectorId MetricsRegistry::addCollector(std::function<void()> collect)
{
    std::lock_guard lock(collectMutex_);
    const CollectorId id = nextCollectorId_++;
    collectors_.emplace_back(id, std::move(collect));
    return id;
}

void MetricsRegistry::removeCollector(CollectorId id)
{
    std::lock_guard lock(collectMutex_);
    std::erase_if(collectors_, [id](const auto &c) { return c.first == id; });
}

// ---- rendering --------------------------------------------------------------

namespace {

// {a="x",b="y"} plus an optional extra pair (a histogram's le), or nothing.
void appendLabels(std::string &out, const std::vector<std::string> &names,
                  const std::vector<std::string> &values, std::string_view extraName = {},
                  std::string_view extraValue = {})
{
    if (names.empty() && extraName.empty())
        return;
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!first)
            out += ',';
        first = false;
        out += names[i];
        out += "=\"";
        exposition::appendLabelValue(out, values[i]);
        out += '"';
    }
    if (!extraName.empty()) {
        if (!first)
            out += ',';
        out += extraName;
        out += "=\"";
        exposition::appendLabelValue(out, extraValue);
        out += '"';
    }
    out += '}';
}

void renderFamily(std::string &out, detail::FamilyData &f)
{
    std::vector<std::pair<std::vector<std::string>, std::shared_ptr<detail::Cell>>> children;
    {
        std::lock_guard lock(f.mutex);
        children.assign(f.children.begin(), f.children.end());
    }
    out += "# HELP ";
    out += f.name;
    out += ' ';
    exposition::appendHelp(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += typeName(f.type);
    out += '\n';
    for (const auto &[values, cell] : children) {
        if (f.type != MetricType::Histogram) {
            out += f.name;
            appendLabels(out, f.labelNames, values);
            out += ' ';
            out += exposition::formatValue(cell->value.load(std::memory_order_relaxed));
            out += '\n';
            continue;
        }
        const auto snap = snapshotOf(*cell);
        for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
            out += f.name;
            out += "_bucket";
            const std::string le = i < snap.upperBounds.size()
                                       ? exposition::formatValue(snap.upperBounds[i])
                                       : std::string("+Inf");
            appendLabels(out, f.labelNames, values, "le", le);
            out += ' ';
            out += std::to_string(snap.cumulative[i]);
            out += '\n';
        }
        out += f.name;
        out += "_sum";
        appendLabels(out, f.labelNames, values);
        out += ' ';
        out += exposition::formatValue(snap.sum);
        out += '\n';
        out += f.name;
        out += "_count";
        appendLabels(out, f.labelNames, values);
        out += ' ';
        out += std::to_string(snap.count);
        out += '\n';
    }
}

} // namespace

std::string MetricsRegistry::render()
{
    {
        // Held while collecting: renders are serialised and a removed
        // collector is never running after removeCollector() returns.
        std::lock_guard lock(collectMutex_);
        for (const auto &[id, collect] : collectors_) {
            try {
                collect();
            } catch (const std::exception &e) {
                qCWarning(lcEndpoints) << "metrics collector" << id << "threw:" << e.what();
            } catch (...) {
                qCWarning(lcEndpoints) << "metrics collector" << id << "threw";
            }
        }
    }
    std::vector<std::shared_ptr<detail::FamilyData>> families;
    {
        std::lock_guard lock(mutex_);
        families.reserve(families_.size());
        for (const auto &[name, f] : families_)
            families.push_back(f);
    }
    std::string out;
    out.reserve(families.size() * 160);
    for (const auto &f : families)
        renderFamily(out, *f);
    return out;
}

void logRegistrationFailure(const Error &error)
{
    qCWarning(lcEndpoints, "metric not registered (its writes go nowhere): %s", error.message.c_str());
}

} // namespace stoa::endpoints
