// hub/hub.h — the fleet hub: the backend Stoa devices report to and
// operators manage from (docs/hub.md, docs/hub-api.md).
//
// Job: own the storage, the ingest queue and the HTTP server, and route
// every request: the device side of protocol-v1 §1/§5/§6 under /v1/, the
// operator API under /api/v1/, and the hub's own /healthz and /metrics.
// Invariants:
//  - a device route accepts only a device token, and only for its own id
//    (another device's id: 403); an operator route accepts only an operator
//    token; neither ever accepts the other (credentials.h);
//  - a 2xx to a device's POST/PUT is sent only after what it carried was
//    committed (ingest.h); when the queue is full the answer is 503 +
//    Retry-After and nothing is kept;
//  - a request body is capped before it is read (heartbeat 64 KiB, plays
//    4 MiB, screenshot 8 MiB);
//  - /healthz is 200 only while the database answers and the data directory
//    is writable.
#pragma once

#include "hub/http_server.h"
#include "hub/ingest.h"
#include "hub/notifier.h"
#include "hub/storage.h"
#include "hub/upload_store.h"
#include "schedule/keys.h"

#include <QByteArray>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

namespace stoa::hub {

struct HubOptions {
    std::string dataDir;      // hub.db (SQLite), site/, screenshots/
    std::string databaseUrl;  // empty: SQLite in dataDir
    std::string publicUrl;    // how devices reach this hub (docs, provisioning)
    std::string consoleDir;   // the operator console's files (console_files.h); empty: defaultConsoleDir()
    HttpServerOptions http;
    IngestOptions ingest{.writers = 0}; // writers 0: 1 on SQLite (one writer anyway), 2 on PostgreSQL
    std::size_t statusLimit = 64 * 1024;
    std::size_t playsLimit = 4 * 1024 * 1024;
    std::size_t screenshotLimit = 8 * 1024 * 1024;
    std::size_t mediaLimit = std::size_t{256} << 20; // one uploaded medium, buffered whole
    UploadLimits uploads;     // resumable uploads (upload_store.h): sizes, chunks, quota, expiry
    int screenshotsPerDevice = 20;
    int screenshotFileGraceS = 300; // a screenshot file younger than this is never removed (see device_routes.cpp)
    // Root public keys an uploaded keys document must be signed by; empty:
    // its shape is checked here, its signature by the devices.
    std::vector<schedule::PublicKey> roots;
    std::int64_t wakeHoldMs = 60 * 1000;     // §10: at most 60 s
    std::size_t maxWakeWaiters = 200000;
    // A device is online when heard within onlineMs, stale within staleMs,
    // offline after; never when it never sent a heartbeat.
    std::int64_t onlineMs = 3 * 60 * 1000;
    std::int64_t staleMs = 15 * 60 * 1000;
    Retention retention;
    // How soon a token added or revoked by another process or replica is
    // seen (device_tokens.h); through this hub's API: at once.
    std::int64_t tokenRefreshMs = 1000;
    // The hub's own notifications (notifier.h); off unless a webhook or an
    // e-mail address is given.
    NotifyOptions notify;
};

enum class DeviceState { Online, Stale, Offline, Never };
const char *stateName(DeviceState state);
DeviceState deviceState(const DeviceSummary &device, std::int64_t nowMs, const HubOptions &options);

class Hub final : public HttpHandler {
public:
    // Opens the storage, migrates it and creates the data directories.
    static std::expected<std::unique_ptr<Hub>, std::string> open(HubOptions options);
    ~Hub() override;

    std::optional<std::string> start(); // binds; port() tells where
    void stop();                        // commits what was accepted, then closes
    std::uint16_t port() const;
    Storage &storage();
    NotifyStats notifyStats() const;
    // SIGHUP: new TLS files (http_server.h, reloadTls); the message says why not.
    std::optional<std::string> reloadTls(std::string certPem, std::string keyPem);

    // HttpHandler
    std::variant<std::size_t, HttpResponse> admit(HttpRequest &request) override;
    void handle(HttpRequest request, Reply reply) override;
    void refused(const HttpRequest &request, int status) override;

    struct Impl;

private:
    explicit Hub(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};


} // namespace stoa::hub
