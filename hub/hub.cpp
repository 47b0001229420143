#include "hub/hub.h"

#include "hub/credentials.h"
#include "hub/fleet_metrics.h"
#include "hub/logging.h"
#include "hub/open_storage.h"
#include "hub/hub_impl.h"

#include "endpoints/process_metrics.h"

#include <QDir>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace stoa::hub {

const char *stateName(DeviceState state)
{
    switch (state) {
    case DeviceState::Online: return "online";
    case DeviceState::Stale: return "stale";
    case DeviceState::Offline: return "offline";
    case DeviceState::Never: return "never";
    }
    return "never";
}

DeviceState deviceState(const DeviceSummary &device, std::int64_t nowMs, const HubOptions &options)
{
    if (!device.lastSeenAtMs)
        return DeviceState::Never;
    const std::int64_t age = nowMs - *device.lastSeenAtMs;
    if (age <= options.onlineMs)
        return DeviceState::Online;
    if (age <= options.staleMs)
        return DeviceState::Stale;
    return DeviceState::Offline;
}

Hub::Hub(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}

Hub::~Hub() { stop(); }

std::expected<std::unique_ptr<Hub>, std::string> Hub::open(HubOptions options)
{
    if (options.dataDir.empty())
        return std::unexpected(std::string("--data-dir is required"));
    for (const char *sub : {"", "/site", "/screenshots"}) {
        if (!QDir().mkpath(QString::fromStdString(options.dataDir + sub)))
            return std::unexpected("cannot create " + options.dataDir + sub);
    }
    if (options.ingest.writers == 0)
        options.ingest.writers = options.databaseUrl.empty() ? 1 : 2;
    auto storage = openStorage(options.databaseUrl, options.dataDir);
    if (!storage)
        return std::unexpected("database: " + storage.error().message);
    if (auto m = (*storage)->migrate(); !m)
        return std::unexpected("database schema: " + m.error().message);
    // Ingest keeps the online stretches by the fleet's rule.
    (*storage)->setOnlineWindow(options.onlineMs);
    Publisher::Options po;
    po.dataDir = options.dataDir;
    po.roots = options.roots;
    Storage *store = storage->get();
    po.membership = [store] {
        std::map<std::string, std::string> groups;
        if (auto list = store->devices())
            for (const auto &dev : *list)
                if (dev.group && !dev.revoked)
                    groups.emplace(dev.id, *dev.group);
        return groups;
    };
    auto publisher = Publisher::open(po);
    if (!publisher)
        return std::unexpected("publisher: " + publisher.error().message.toStdString());
    auto impl = std::make_unique<Impl>(std::move(options), std::move(*storage), std::move(*publisher));
    if (auto e = impl->registerMetrics(); !e.empty())
        return std::unexpected("metrics: " + e);
    return std::unique_ptr<Hub>(new Hub(std::move(impl)));
}

std::optional<std::string> Hub::start()
{
    d->tokens.start();
    // Both before the server: its first /healthz answers from a real
    // probe, its first /metrics finds the pool running.
    d->probe.start();
    d->pool.start();
    if (!d->server) {
        // /healthz answers from the probe, in microseconds: the soft
        // connection limit never sheds it (http_server.h), or a balancer
        // would take out a replica for shedding load it was built to shed.
        HttpServerOptions http = d->options.http;
        http.neverShed.push_back("/healthz");
        d->server = std::make_unique<HttpServer>(*this, http);
    }
    if (auto e = d->server->start())
        return e;
    d->startRetention();
    d->startWorker();
    d->notifier.start();
    d->statusBoard.start();
    return std::nullopt;
}

void Hub::stop()
{
    // New requests are refused (503, Retry-After); then everything accepted
    // is finished and answered, and the answers flushed, before the server closes.
    if (d->server)
        d->server->quiesce();
    d->stopRetention();
    d->tokens.stop();
    d->notifier.stop();
    d->statusBoard.stop();
    // Accepted writes are committed, publications finished and long polls
    // answered before the server goes, so no connection stays suspended.
    d->stopWorker();
    d->pool.stop(); // runs what it accepted: those connections are answered
    d->probe.stop();
    d->wake.stop();
    d->ingest.stop();
    if (d->server) {
        if (!d->server->waitIdle(std::chrono::seconds(5)))
            qCWarning(lcHub) << "stopping: some answers were still being sent after 5 s";
        d->server->stop();
    }
}

std::uint16_t Hub::port() const { return d->server ? d->server->port() : 0; }

Storage &Hub::storage() { return *d->storage; }
NotifyStats Hub::notifyStats() const { return d->notifier.stats(); }

std::optional<std::string> Hub::reloadTls(std::string certPem, std::string keyPem)
{
    if (!d->server)
        return std::string("not serving");
    return d->server->reloadTls(std::move(certPem), std::move(keyPem));
}

std::variant<std::size_t, HttpResponse> Hub::admit(HttpRequest &request) { return d->admit(request); }

void Hub::handle(HttpRequest request, Reply reply) { d->handle(std::move(request), std::move(reply)); }

void Hub::refused(const HttpRequest &request, int status)
{
    const Route route = classify(request.method, request.path);
    d->count(route, status, 0.0);
}

// ---- Impl: state, metrics, health, retention --------------------------------------------

Hub::Impl::Impl(HubOptions o, std::unique_ptr<Storage> s, std::unique_ptr<Publisher> p)
    : options(std::move(o)), storage(std::move(s)), ingest(*storage, options.ingest),
      tokens(*storage, std::chrono::milliseconds(options.tokenRefreshMs)), publisher(std::move(p)),
      wake(*publisher, std::chrono::milliseconds(options.wakeHoldMs), options.maxWakeWaiters),
      notifier(options.notify, [this]() -> std::optional<std::vector<WatchedDevice>> {
          auto list = storage->devices();
          if (!list)
              return std::nullopt;
          const std::int64_t now = nowMs();
          std::vector<WatchedDevice> fleet;
          fleet.reserve(list->size());
          for (const auto &dev : *list)
              if (!dev.revoked)
                  fleet.push_back({dev.id, dev.group, deviceState(dev, now, options) == DeviceState::Online,
                                   dev.lastSeenAtMs});
          return fleet;
      }),
      probe(
          [this]() -> std::optional<std::string> {
              if (auto ping = storage->ping(); !ping)
                  return ping.error().message;
              return std::nullopt;
          },
          [this]() -> std::optional<std::string> {
              if (const char *problem = dataDirProblem())
                  return std::string(problem);
              return std::nullopt;
          },
          "data directory " + options.dataDir, HealthProbe::Options{}),
      statusBoard(options.notify.hubName, [this] { return statusParts(); }, std::chrono::seconds(5))
{
}

void Hub::Impl::startWorker()
{
    std::lock_guard lock(workMutex);
    if (worker.joinable())
        return;
    workStop = false;
    worker = std::thread([this] {
        std::unique_lock held(workMutex);
        for (;;) {
            workWake.wait(held, [this] { return workStop || !work.empty(); });
            if (work.empty())
                return; // stopping, every accepted task done
            auto task = std::move(work.front());
            work.pop_front();
            held.unlock();
            task();
            held.lock();
        }
    });
}

void Hub::Impl::stopWorker()
{
    {
        std::lock_guard lock(workMutex);
        workStop = true;
    }
    workWake.notify_all();
    if (worker.joinable())
        worker.join();
}

bool Hub::Impl::post(std::function<void()> task)
{
    {
        std::lock_guard lock(workMutex);
        if (workStop || work.size() >= 64)
            return false;
        work.push_back(std::move(task));
    }
    workWake.notify_one();
    return true;
}

Hub::Impl::~Impl() = default;

std::string Hub::Impl::registerMetrics()
{
    using namespace endpoints;
    auto requests = metrics.counterFamily("stoa_hub_http_requests_total", "HTTP requests answered, by route and status",
                                          {"route", "code"});
    auto latency = metrics.histogramFamily("stoa_hub_http_request_duration_seconds",
                                           "Time from a request's last byte to its answer, by route",
                                           {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
                                           {"route"});
    auto devices = metrics.gaugeFamily("stoa_hub_devices", "Registered devices by state (online, stale, offline, never)",
                                       {"state"});
    auto depth = metrics.gauge("stoa_hub_ingest_queue_depth", "Device requests waiting for their batch to be committed");
    auto pendingBytes = metrics.gauge("stoa_hub_ingest_queue_bytes", "Bytes of device requests waiting to be committed");
    auto refusedIngest = metrics.counter("stoa_hub_ingest_refused_total",
                                         "Device requests answered 503 because the ingest queue was full");
    auto dbErrors = metrics.counter("stoa_hub_database_errors_total", "Database calls that failed");
    auto plays = metrics.counterFamily("stoa_hub_plays_total", "Proof-of-play records received, by outcome (stored, duplicate)",
                                       {"outcome"});
    auto open = metrics.gauge("stoa_hub_http_open_connections", "Open HTTP connections");
    auto shed = metrics.counter("stoa_hub_http_shed_total", "Requests answered 503 past the soft connection limit");
    auto healthy = metrics.gauge("stoa_hub_healthy", "1 while /healthz answers 200");
    auto waiting = metrics.gauge("stoa_hub_wake_waiting", "Wake-up long polls held open (protocol v1.1 section 10)");
    if (!waiting) return waiting.error().message;
    auto poolDepth = metrics.gauge("stoa_hub_pool_queue_depth",
                                   "Requests that read the database (API, metrics, logins) waiting for a pool thread");
    if (!poolDepth) return poolDepth.error().message;
    auto poolRefused = metrics.counter("stoa_hub_pool_refused_total",
                                       "Requests answered 503 because the pool's queue was full");
    if (!poolRefused) return poolRefused.error().message;
    for (const auto *r : {&requests, &plays})
        if (!*r)
            return r->error().message;
    if (!latency) return latency.error().message;
    if (!devices) return devices.error().message;
    if (!depth) return depth.error().message;
    if (!pendingBytes) return pendingBytes.error().message;
    if (!refusedIngest) return refusedIngest.error().message;
    if (!dbErrors) return dbErrors.error().message;
    if (!open) return open.error().message;
    if (!shed) return shed.error().message;
    if (!healthy) return healthy.error().message;
    m.requests = *requests;
    m.latency = *latency;
    m.plays = *plays;
    m.dbErrors = *dbErrors;
    if (auto p = addProcessMetrics(metrics); !p)
        return p.error().message;
    // The fleet's series for the alerting rules (fleet_metrics.h), owned by
    // the collector and so by the registry, which Impl destroys before the
    // storage (declared after it): the storage outlives every use.
    auto fleetMetrics = FleetMetrics::create(metrics, *storage,
                                             {.onlineMs = options.onlineMs, .staleMs = options.staleMs,
                                              .siteDir = options.dataDir + "/site"});
    if (!fleetMetrics)
        return fleetMetrics.error();
    std::shared_ptr<FleetMetrics> fleet = std::move(*fleetMetrics);
    metrics.addCollector([this, devices = *devices, depth = *depth, pendingBytes = *pendingBytes,
                          refusedIngest = *refusedIngest, open = *open, shed = *shed, healthy = *healthy,
                          waiting = *waiting, poolDepth = *poolDepth, poolRefused = *poolRefused, fleet] {
        waiting.set(static_cast<double>(wake.waiting()));
        const auto poolStats = pool.stats();
        poolDepth.set(static_cast<double>(poolStats.queued));
        poolRefused.setTotal(static_cast<double>(poolStats.refused));
        const auto stats = ingest.stats();
        depth.set(static_cast<double>(stats.pendingRequests));
        pendingBytes.set(static_cast<double>(stats.pendingBytes));
        refusedIngest.setTotal(static_cast<double>(stats.refused));
        if (server) {
            const auto http = server->stats();
            open.set(static_cast<double>(http.openConnections));
            shed.setTotal(static_cast<double>(http.shedConnections));
        }
        healthy.set(probe.current().healthy() ? 1 : 0); // what /healthz answers now
        if (auto list = storage->devices()) {
            const auto now = nowMs();
            double counts[4] = {0, 0, 0, 0};
            for (const auto &dev : *list)
                counts[static_cast<int>(deviceState(dev, now, options))] += 1;
            for (auto s : {DeviceState::Online, DeviceState::Stale, DeviceState::Offline, DeviceState::Never})
                devices.labels({stateName(s)}).set(counts[static_cast<int>(s)]);
            fleet->collect(*list, now);
        } else {
            m.dbErrors.inc();
            fleet->collectFailed();
        }
    });
    return {};
}

void Hub::Impl::count(const Route &route, int status, double seconds)
{
    m.requests.labels({route.label, std::to_string(status)}).inc();
    if (seconds > 0)
        m.latency.labels({route.label}).observe(seconds);
}

const char *Hub::Impl::dataDirProblem() const
{
    // diskRoom (upload_store.h), the hub's one statvfs reading.
    const auto room = diskRoom(options.dataDir);
    if (!room)
        return "not reachable";
    if (room->readOnly)
        return "read-only";
    if (room->freeBytes == 0)
        return "full";
    return nullptr;
}

std::vector<PartSample> Hub::Impl::statusParts()
{
    // Fixed words only: the page is public (status_board.h).
    std::vector<PartSample> parts;
    // The health probe's result, as /healthz's: this thread never waits on
    // the database either.
    const auto health = probe.current();
    parts.push_back({"Database", health.databaseUp ? PartState::Up : PartState::Down, {}});
    const std::string &problem = health.dataDirProblem; // a fixed word, never the path
    parts.push_back({"Storage for media and screenshots", problem.empty() ? PartState::Up : PartState::Down, problem});
    const auto ingestStats = ingest.stats();
    const std::uint64_t shed = server ? server->stats().shedConnections : 0;
    const bool shedding = ingestStats.refused > statusRefused || shed > statusShed;
    statusRefused = ingestStats.refused;
    statusShed = shed;
    parts.push_back({"Device reports (ingest)", shedding ? PartState::Degraded : PartState::Up,
                     shedding ? "shedding load: devices are asked to retry" : ""});
    bool busy;
    {
        std::lock_guard lock(workMutex);
        busy = work.size() >= 64;
    }
    parts.push_back({"Publishing", busy ? PartState::Degraded : PartState::Up, busy ? "busy" : ""});
    if (!options.notify.enabled()) {
        parts.push_back({"Notifications", PartState::Off, "not configured"});
    } else {
        const auto n = notifier.stats();
        const bool failing = n.failedTries > statusFailedTries && n.delivered == statusDelivered;
        statusFailedTries = n.failedTries;
        statusDelivered = n.delivered;
        parts.push_back({"Notifications", failing ? PartState::Degraded : PartState::Up, failing ? "deliveries failing" : ""});
    }
    return parts;
}

std::int64_t Hub::Impl::nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void Hub::Impl::startRetention()
{
    std::lock_guard lock(retentionMutex);
    if (retentionThread.joinable())
        return;
    retentionStop = false;
    retentionThread = std::thread([this] {
        std::unique_lock held(retentionMutex);
        while (!retentionStop) {
            held.unlock();
            uploads.sweep(nowMs()); // abandoned partial uploads
            if (auto media = publisher->media()) { // stored digests: no file is read
                std::set<std::string> keep;
                for (const auto &medium : *media)
                    keep.insert(medium.sha256.hex());
                thumbnails.prune(keep);
            }
            if (auto removed = storage->applyRetention(options.retention, nowMs()); !removed) {
                m.dbErrors.inc();
                qCWarning(lcHub).noquote() << "retention:" << removed.error().message.c_str();
            } else if (*removed > 0) {
                qCInfo(lcHub) << "retention: removed" << *removed << "old record(s)";
            }
            held.lock();
            retentionWake.wait_for(held, std::chrono::minutes(10), [this] { return retentionStop; });
        }
    });
}

void Hub::Impl::stopRetention()
{
    {
        std::lock_guard lock(retentionMutex);
        retentionStop = true;
    }
    retentionWake.notify_all();
    if (retentionThread.joinable())
        retentionThread.join();
}

} // namespace stoa::hub
