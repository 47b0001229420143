// The hub's own notifications: the damping rules of FleetWatch directly,
// then a real hub (SQLite) notifying a webhook receiver (real HTTP, the
// hub's own HTTP layer as the receiver) and a stand-in `sendmail` (a script
// that files each message it is given on stdin: the one part that cannot
// run here, a mail system, behind its real interface).
#include "hub_harness.h"

#include "hub/fleet_watch.h"
#include "hub/http_server.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <mutex>

using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

using Kind = FleetEvent::Kind;

WatchedDevice dev(const std::string &id, bool online, std::optional<std::string> group = std::nullopt)
{
    return {id, std::move(group), online, std::int64_t{1}};
}

// A webhook receiver: records every body; answers 500 to the first
// `failFirst` requests, holds a request unanswered while `hold` is set, and
// answers 204 otherwise.
class Receiver : public HttpHandler {
public:
    std::variant<std::size_t, HttpResponse> admit(HttpRequest &) override { return std::size_t{1 << 20}; }
    void handle(HttpRequest request, Reply reply) override
    {
        std::lock_guard lock(mutex);
        bodies.push_back(request.body);
        if (hold) {
            held.push_back(std::move(reply));
            return;
        }
        if (failFirst > 0) {
            --failFirst;
            reply.send(HttpResponse::text(500, "try later"));
            return;
        }
        HttpResponse ok;
        ok.status = 204;
        reply.send(std::move(ok));
    }
    void refused(const HttpRequest &, int) override {}

    std::vector<QJsonObject> events(const std::string &kind)
    {
        std::lock_guard lock(mutex);
        std::vector<QJsonObject> out;
        for (const auto &b : bodies) {
            const auto o = QJsonDocument::fromJson(QByteArray::fromStdString(b)).object();
            if (o.value("event").toString().toStdString() == kind)
                out.push_back(o);
        }
        return out;
    }
    std::size_t count()
    {
        std::lock_guard lock(mutex);
        return bodies.size();
    }
    std::size_t heldCount()
    {
        std::lock_guard lock(mutex);
        return held.size();
    }
    void release()
    {
        std::lock_guard lock(mutex);
        hold = false;
        held.clear(); // each unanswered Reply answers 500 as it goes
    }

    std::mutex mutex;
    std::vector<std::string> bodies;
    std::vector<Reply> held;
    int failFirst = 0;
    bool hold = false;
};

std::string heartbeat(const std::string &id)
{
    return R"({"device_id":")" + id + R"(","manifest":{"version":1}})";
}

} // namespace

class NotifyTest : public QObject {
    Q_OBJECT
    Backends backends;

    static FleetWatchOptions quick()
    {
        FleetWatchOptions o;
        o.holdMs = 100;
        o.maxPerHour = 2;
        o.groupShare = 0.5;
        o.groupMinDevices = 2;
        return o;
    }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str());
    }

    void watchBaselineAndHold()
    {
        FleetWatch w(quick());
        // A restarted hub announces nothing about the state it finds.
        QVERIFY(w.observe({dev("a", false), dev("b", true)}, 0).empty());
        QVERIFY(w.observe({dev("a", false), dev("b", true)}, 1000).empty());
        // A drop shorter than the hold: nothing, neither way.
        QVERIFY(w.observe({dev("a", false), dev("b", false)}, 2000).empty());
        QVERIFY(w.observe({dev("a", false), dev("b", false)}, 2050).empty());
        QVERIFY(w.observe({dev("a", false), dev("b", true)}, 2080).empty());
        QVERIFY(w.observe({dev("a", false), dev("b", true)}, 3000).empty());
        // Held: announced once, and its return too.
        QVERIFY(w.observe({dev("a", false), dev("b", false)}, 4000).empty());
        auto e = w.observe({dev("a", false), dev("b", false)}, 4100);
        QCOMPARE(e.size(), std::size_t{1});
        QCOMPARE(e[0].kind, Kind::DeviceOffline);
        QCOMPARE(e[0].subject, std::string("b"));
        QCOMPARE(e[0].sinceMs, std::int64_t{4000});
        QVERIFY(w.observe({dev("a", false), dev("b", false)}, 9000).empty());
        QCOMPARE(w.offlineDevices(), (std::vector<std::string>{"a", "b"}));
        QVERIFY(w.observe({dev("a", false), dev("b", true)}, 9100).empty());
        e = w.observe({dev("a", false), dev("b", true)}, 9200);
        QCOMPARE(e.size(), std::size_t{1});
        QCOMPARE(e[0].kind, Kind::DeviceBack);
        // "a" was offline at the baseline: its return is no news.
        QVERIFY(w.observe({dev("a", true), dev("b", true)}, 9300).empty());
        QVERIFY(w.observe({dev("a", true), dev("b", true)}, 9500).empty());
    }

    void watchCapsFlappingDevices()
    {
        FleetWatch w(quick()); // two offlines an hour
        std::int64_t t = 0;
        QVERIFY(w.observe({dev("f", true)}, t).empty());
        int offline = 0, back = 0;
        for (int i = 0; i < 4; ++i) {
            w.observe({dev("f", false)}, t += 1000);
            for (const auto &e : w.observe({dev("f", false)}, t += 200))
                offline += e.kind == Kind::DeviceOffline;
            w.observe({dev("f", true)}, t += 1000);
            for (const auto &e : w.observe({dev("f", true)}, t += 200))
                back += e.kind == Kind::DeviceBack;
        }
        QCOMPARE(offline, 2); // the cap
        QCOMPARE(back, 2);    // each announced offline got its return; the withheld ones none
        QCOMPARE(w.takeSuppressed(), std::int64_t{2});
        QCOMPARE(w.takeSuppressed(), std::int64_t{0});
        // An hour later it may be announced again.
        w.observe({dev("f", false)}, t += 3600 * 1000);
        const auto e = w.observe({dev("f", false)}, t += 200);
        QCOMPARE(e.size(), std::size_t{1});
        QCOMPARE(e[0].kind, Kind::DeviceOffline);
    }

    void watchGroupsAndWhoIsWatched()
    {
        FleetWatch w(quick());
        const std::string g = "lobby";
        std::vector<WatchedDevice> fleet{dev("g1", true, g), dev("g2", true, g), dev("g3", true, g), dev("g4", true, g)};
        WatchedDevice never{"n1", g, false, std::nullopt};
        fleet.push_back(never); // never seen: not counted, not announced
        QVERIFY(w.observe(fleet, 0).empty());
        fleet[0].online = false; // 1 of 4: under the share
        w.observe(fleet, 1000);
        auto e = w.observe(fleet, 1200);
        QCOMPARE(e.size(), std::size_t{1});
        QCOMPARE(e[0].kind, Kind::DeviceOffline);
        fleet[1].online = false; // 2 of 4: the group is down
        w.observe(fleet, 2000);
        e = w.observe(fleet, 2200);
        QCOMPARE(e.size(), std::size_t{2});
        QCOMPARE(e[1].kind, Kind::GroupOffline);
        QCOMPARE(e[1].subject, g);
        QCOMPARE(e[1].offline, 2);
        QCOMPARE(e[1].total, 4);
        // A device that leaves the fleet (revoked) is forgotten, not announced.
        fleet.erase(fleet.begin() + 1);
        w.observe(fleet, 3000);
        e = w.observe(fleet, 3200);
        QCOMPARE(e.size(), std::size_t{1});
        QCOMPARE(e[0].kind, Kind::GroupBack); // 1 of 3 now
    }

    void hubNotifiesWebhookAndMail()
    {
        Receiver receiver;
        receiver.failFirst = 2; // the first message is retried into delivery
        HttpServer receiverServer(receiver, HttpServerOptions{});
        QVERIFY(!receiverServer.start());

        QTemporaryDir mailDir;
        const QString sendmail = mailDir.filePath("sendmail");
        {
            QFile script(sendmail);
            QVERIFY(script.open(QIODevice::WriteOnly));
            script.write("#!/bin/sh\n[ \"$1\" = -t ] && [ \"$2\" = -oi ] || exit 64\n"
                         "cat > \"$(dirname \"$0\")/mail.$$.tmp\" && mv \"$(dirname \"$0\")/mail.$$.tmp\" "
                         "\"$(dirname \"$0\")/mail.$$\"\n");
            script.close();
            QVERIFY(script.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
        }
        auto mails = [&](const QString &needle) {
            int n = 0;
            for (const auto &f : QDir(mailDir.path()).entryList({"mail.*"}, QDir::Files)) {
                if (f.endsWith(".tmp"))
                    continue;
                QFile m(mailDir.filePath(f));
                if (m.open(QIODevice::ReadOnly) && m.readAll().contains(needle.toUtf8()))
                    ++n;
            }
            return n;
        };

        HubOptions options;
        options.onlineMs = 700;
        options.staleMs = 5000;
        options.notify.webhookUrl = "http://127.0.0.1:" + std::to_string(receiverServer.port()) + "/hook";
        options.notify.emailTo = {"ops@example.org"};
        options.notify.sendmail = sendmail.toStdString();
        options.notify.hubName = "hub-under-test";
        options.notify.checkMs = 100;
        options.notify.watch.holdMs = 300;
        options.notify.retryFirstMs = 100;
        options.notify.aliveMs = 3600 * 1000;
        // No daily digest: at its hour (08:00 UTC by default) it went out at
        // start beside the "still alive" and the counts below were off.
        options.notify.digestHourUtc = -1;
        HubHarness h;
        if (auto why = h.start(backends, options); !why.empty())
            QFAIL(why.c_str());
        auto d1 = h.client(h.dev1);

        // The "still alive" goes out at start; the receiver refused it twice.
        QTRY_COMPARE_WITH_TIMEOUT(receiver.count(), std::size_t{3}, 10000);
        QCOMPARE(receiver.events("alive").size(), std::size_t{3}); // the same message, tried three times
        QCOMPARE(receiver.events("alive")[0].value("hub").toString(), QString("hub-under-test"));
        QTRY_COMPARE_WITH_TIMEOUT(mails("still alive"), 1, 10000);
        QVERIFY(h.hub->notifyStats().failedTries >= 2);

        // pi-1 reports, then goes silent: offline, by webhook and e-mail.
        QCOMPARE(d1->post("/v1/devices/pi-1/status", heartbeat("pi-1")).status, 204L);
        QTRY_COMPARE_WITH_TIMEOUT(receiver.events("device_offline").size(), std::size_t{1}, 15000);
        const auto offline = receiver.events("device_offline")[0];
        QCOMPARE(offline.value("device").toString(), QString("pi-1"));
        QVERIFY(!offline.value("last_seen_at").toString().isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(mails("OFFLINE: device pi-1"), 1, 10000);
        QVERIFY(receiver.events("device_back").empty());

        // Back: announced once it held.
        QDeadlineTimer until(15000);
        while (receiver.events("device_back").empty() && !until.hasExpired()) {
            QCOMPARE(d1->post("/v1/devices/pi-1/status", heartbeat("pi-1")).status, 204L);
            QTest::qWait(100); // a device's heartbeat cadence, not a settle
        }
        QCOMPARE(receiver.events("device_back").size(), std::size_t{1});
        QTRY_COMPARE_WITH_TIMEOUT(mails("back: device pi-1"), 1, 10000);
        QCOMPARE(receiver.events("device_offline").size(), std::size_t{1});
    }

    void aDeadReceiverNeverHoldsUpIngest()
    {
        Receiver receiver;
        receiver.hold = true; // takes the webhook and never answers
        HttpServer receiverServer(receiver, HttpServerOptions{});
        QVERIFY(!receiverServer.start());
        HubOptions options;
        options.notify.webhookUrl = "http://127.0.0.1:" + std::to_string(receiverServer.port()) + "/hook";
        options.notify.checkMs = 100;
        options.notify.timeoutMs = 120 * 1000;
        HubHarness h;
        if (auto why = h.start(backends, options); !why.empty())
            QFAIL(why.c_str());
        QTRY_COMPARE_WITH_TIMEOUT(receiver.heldCount(), std::size_t{1}, 10000);
        // While the delivery hangs, devices are answered as usual.
        auto d1 = h.client(h.dev1);
        for (int i = 0; i < 20; ++i)
            QCOMPARE(d1->post("/v1/devices/pi-1/status", heartbeat("pi-1")).status, 204L);
        QCOMPARE(receiver.heldCount(), std::size_t{1});
        QCOMPARE(h.hub->notifyStats().delivered, std::uint64_t{0});
        receiver.release(); // the hub stops below without waiting out its 120 s
    }
};

QTEST_GUILESS_MAIN(NotifyTest)
#include "tst_notify.moc"
