// tests/hub/hub_harness.h — a real Hub in the test process on a loopback
// port, over the backend STOA_HUB_TEST_BACKEND names (backends.h), with an
// admin and a viewer operator and two devices already registered.
#pragma once

#include "backends.h"
#include "http_client.h"

#include "hub/credentials.h"
#include "hub/hub.h"

#include <QTemporaryDir>

namespace stoa::hub::test {

struct HubHarness {
    QTemporaryDir dir;
    std::unique_ptr<Hub> hub;
    std::string base;
    std::string admin, viewer;      // operator tokens
    std::string dev1, dev2;         // device tokens of pi-1, pi-2

    // Empty on success, else why not.
    std::string start(Backends &backends, HubOptions options = {})
    {
        options.dataDir = dir.path().toStdString();
        options.databaseUrl = backends.freshUrl();
        options.http.address = "127.0.0.1";
        options.http.port = 0;
        auto opened = Hub::open(options);
        if (!opened)
            return opened.error();
        hub = std::move(*opened);
        if (auto e = hub->start())
            return *e;
        base = "http://127.0.0.1:" + std::to_string(hub->port());
        admin = add(TokenKind::Operator, "ada", Role::Admin);
        viewer = add(TokenKind::Operator, "vic", Role::Viewer);
        dev1 = add(TokenKind::Device, "pi-1");
        dev2 = add(TokenKind::Device, "pi-2");
        return {};
    }

    std::string add(TokenKind kind, const std::string &name, Role role = Role::Viewer)
    {
        const auto token = *newToken(kind);
        const auto r = kind == TokenKind::Device ? hub->storage().addDevice(name, tokenHash(token), 0)
                                                 : hub->storage().addOperator(name, role, tokenHash(token), 0);
        if (!r)
            qFatal("adding %s: %s", name.c_str(), r.error().message.c_str());
        return token;
    }

    std::unique_ptr<HttpClient> client(const std::string &token = {}) const
    {
        auto c = std::make_unique<HttpClient>(base);
        c->setToken(token);
        return c;
    }
};

} // namespace stoa::hub::test
