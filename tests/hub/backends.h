// tests/hub/backends.h — one storage suite, two backends: which one a test
// binary runs against comes from STOA_HUB_TEST_BACKEND ("sqlite", the
// default, or "postgres"); CTest registers each suite once per backend.
// Each fresh() is an empty database: a new SQLite file, or a new database
// on the one PostgreSQL server the binary started.
#pragma once

#include "hub/open_storage.h"
#include "hub/storage.h"
#include "postgres_server.h"

#include <QTemporaryDir>
#include <QTest>

#include <optional>

namespace stoa::hub::test {

class Backends {
public:
    static bool postgres() { return qEnvironmentVariable("STOA_HUB_TEST_BACKEND") == QLatin1String("postgres"); }

    // Call from initTestCase(); a message when the backend cannot run.
    std::optional<std::string> init()
    {
        if (!postgres())
            return std::nullopt;
        if (!PostgresServer::available())
            return "PostgreSQL server binaries: " + PostgresServer::unavailableReason();
        auto server = PostgresServer::start();
        if (!server)
            return "PostgreSQL did not start: " + server.error();
        server_.emplace(std::move(*server));
        return std::nullopt;
    }

    // The --database value for a fresh, empty database ("" for SQLite in
    // `dataDir`).
    std::string freshUrl()
    {
        if (!server_)
            return {};
        auto url = server_->createDatabase();
        if (!url)
            qFatal("createDatabase: %s", url.error().c_str());
        return *url;
    }

    std::unique_ptr<Storage> fresh(const QTemporaryDir &dir)
    {
        auto storage = openStorage(freshUrl(), dir.path().toStdString());
        if (!storage)
            qFatal("openStorage: %s", storage.error().message.c_str());
        if (auto m = (*storage)->migrate(); !m)
            qFatal("migrate: %s", m.error().message.c_str());
        return std::move(*storage);
    }

    PostgresServer *server() { return server_ ? &*server_ : nullptr; }

private:
    std::optional<PostgresServer> server_;
};

} // namespace stoa::hub::test
