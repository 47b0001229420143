// sync/uploader.h — one outward channel's sending and pacing (heartbeat,
// proof of play, screenshots).
//
// Job: send one request and decide, from its answer, when the channel may
// send again: the status interval after a success, backoff (or Retry-After)
// after a failure, and a rare retry when the server has no such endpoint.
//
// Invariants:
//  - a 404, 405 or 501 means a static server (spec §1), not an outage: no
//    backoff growth, the next try after unsupportedRetry;
//  - waits count from the answer, not from the request's start;
//  - only the status line matters: at most 64 KiB of answer is read, and a
//    request never takes more than 60 s.
#pragma once

#include "sync/agent_metrics.h"
#include "sync/backoff.h"
#include "sync/config.h"
#include "sync/downloads.h"
#include "sync/http.h"
#include "sync/manifest_slots.h"

#include <string>

namespace stoa::sync {

class Uploader {
public:
    enum class Sent { Ok, Unsupported, Failed };

    // Sends to SERVER/v1/devices/ID/`endpoint` ("status", "plays",
    // "screenshot": also the channel's label on /metrics). Everything passed
    // by reference must outlive the uploader. `metrics` is the agent's
    // observer slot: null until observers are set, read each use.
    Uploader(const char *endpoint, const AgentConfig &config, const std::string &deviceId, HttpClient &http,
             Backoff::Rng &rng, const ManifestSlots &manifests, AgentMetrics *const &metrics)
        : m_endpoint(endpoint), m_config(config), m_deviceId(deviceId), m_http(http), m_rng(rng),
          m_manifests(manifests), m_metrics(metrics), m_pacer(config.statusInterval, config.backoff) {}

    // A file:// base (a USB stick) supports the GETs only (§1): nothing to send to.
    bool supported() const { return m_config.server.rfind("file://", 0) != 0; }
    // The steady interval now: the active manifest's status_interval_s, else stoa.conf's.
    Millis interval() const { return m_manifests.statusInterval(m_config.statusInterval); }
    // The first send after start, jittered so a fleet does not report in step.
    Millis initialDelay() const { return m_pacer.initialDelay(m_rng, true); }
    // Sends `body`; sets `due` and `result` from the answer.
    Sent send(SteadyTime now, const char *method, const char *contentType, std::string body);

    SteadyTime due{};   // when the channel may send next; its owner may move it (nothing to send, more waiting)
    std::string result; // the last send's outcome in words: "ok", "not supported by the server", an error

private:
    const char *m_endpoint;
    const AgentConfig &m_config;
    const std::string &m_deviceId;
    HttpClient &m_http;
    Backoff::Rng &m_rng;
    const ManifestSlots &m_manifests;
    AgentMetrics *const &m_metrics;
    Pacer m_pacer;
};

} // namespace stoa::sync
