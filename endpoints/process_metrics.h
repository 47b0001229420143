// endpoints/process_metrics.h — the process's own metrics, read from
// /proc/self at every scrape (Linux only).
//
//   stoa_process_resident_memory_bytes   gauge    RSS (statm resident × page size)
//   stoa_process_virtual_memory_bytes    gauge    address-space size
//   stoa_process_cpu_seconds_total       counter  user + system CPU time
//   stoa_process_start_time_seconds      gauge    start, Unix time (boot time + start ticks)
//   stoa_process_open_fds                gauge    entries in /proc/self/fd
//   stoa_process_threads                 gauge    threads of the process
//
// Invariant: a value that cannot be read keeps its last value (and the
// failure is logged once), so one odd /proc read never breaks a scrape.
#pragma once

#include "endpoints/error.h"
#include "endpoints/metrics.h"

namespace stoa::endpoints {

// Registers the metrics above and a collector refreshing them. The collector
// holds only metric handles, so the registry owns everything; call once per
// registry (a second call re-uses the metrics and adds a second, harmless
// collector).
Result<MetricsRegistry::CollectorId> addProcessMetrics(MetricsRegistry &registry);

} // namespace stoa::endpoints
