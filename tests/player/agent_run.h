// tests/player/agent_run.h — the real stoa-syncd on a player test's store.
//
// The diagnostics tests need a REAL agent state in the store: the agent
// binary (STOA_SYNCD, a compile definition) is started on the test's store
// with an empty config and a root key of its own. AgentRun syncs from the
// server it is given (a test's loopback server, which gets its
// heartbeats); DeadServerAgent from a loopback URL whose port was free a
// moment ago: it fails to connect, backs off and publishes its status (kv
// "sync.status"), which the test polls for. Backoff is shortened with --set
// so failures come quickly.
#pragma once

#include "loopback_port.h"

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/keys.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stoa::player::testing {

class AgentRun {
public:
    // `workDir` receives the agent's empty config and root key; `settings`
    // are more --set KEY=VALUE for this run.
    AgentRun(const QString &dataDir, const QString &workDir, const QString &deviceId, const QString &serverUrl,
             const QStringList &settings = {})
        : server(serverUrl)
    {
        QFile(QDir(workDir).filePath("agent.conf")).open(QIODevice::WriteOnly);
        auto key = schedule::PrivateKey::generate();
        QFile pem(QDir(workDir).filePath("root.pub"));
        if (!key || !pem.open(QIODevice::WriteOnly) || pem.write(key->publicKey().toPem()) <= 0)
            qFatal("cannot write the agent's root key");
        m_args = {"--config", QDir(workDir).filePath("agent.conf"), "--data-dir", dataDir, "--server", server,
                  "--trusted-keys", QDir(workDir).filePath("root.pub"), "--device-id", deviceId,
                  "--set", "backoff_base_s=0.2", "--set", "backoff_cap_s=2", "--set", "min_free=0"};
        for (const QString &setting : settings)
            m_args << "--set" << setting;
        m_process.setProcessChannelMode(QProcess::MergedChannels);
    }
    ~AgentRun() { stop(); }

    bool start()
    {
        m_process.start(QStringLiteral(STOA_SYNCD), m_args);
        return m_process.waitForStarted(10000);
    }
    // True when it was not running or ended on SIGTERM within 20 s
    // (otherwise it is killed).
    bool stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return true;
        m_process.terminate();
        if (m_process.waitForFinished(20000))
            return true;
        m_process.kill();
        m_process.waitForFinished(5000);
        return false;
    }
    QByteArray output() { return m_process.readAll(); }

    // Polls `store` until the agent reports at least `failures` failed attempts.
    bool waitForFailures(cache::Store &store, int failures, int timeoutMs = 30000)
    {
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < timeoutMs) {
            if (const auto s = cache::readSyncStatus(store.kv());
                s && s->consecutiveFailures >= failures && !s->lastError.empty())
                return true;
            QTest::qWait(50);
        }
        return false;
    }

    const QString server;

private:
    QStringList m_args;
    QProcess m_process;
};

class DeadServerAgent : public AgentRun {
public:
    DeadServerAgent(const QString &dataDir, const QString &workDir, const QString &deviceId)
        : AgentRun(dataDir, workDir, deviceId,
                   QStringLiteral("http://127.0.0.1:%1").arg(stoa::testing::freeLoopbackPort()),
                   // a device with content spreads its first poll over the steady interval
                   {"sync_interval_s=1"})
    {
    }
};

} // namespace stoa::player::testing
