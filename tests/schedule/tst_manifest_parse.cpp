// tests/schedule/tst_manifest_parse.cpp — manifest payload rules of §3: a
// full valid manifest maps onto manifest.h, and each malformed variant
// (one field broken at a time) is rejected with a reason naming the field.
#include "signed_documents.h"

#include "schedule/manifest_parse.h"

#include <QJsonArray>
#include <QObject>
#include <QTest>

#include <algorithm>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

namespace {

QByteArray manifestWith(const QList<QVariant> &path, const QJsonValue &leaf)
{
    return toJson(edited(validManifest(), path, leaf).toObject());
}

} // namespace

class TestManifestParse : public QObject {
    Q_OBJECT

private slots:
    // §3's command types: the one list both processes route by.
    void commandTypes()
    {
        const std::pair<const char *, CommandType> v1[] = {
            {"screenshot", CommandType::Screenshot}, {"restart_player", CommandType::RestartPlayer},
            {"reboot", CommandType::Reboot},         {"clear_cache", CommandType::ClearCache},
            {"display_on", CommandType::DisplayOn},  {"display_off", CommandType::DisplayOff},
        };
        for (const auto &[name, type] : v1)
            QVERIFY2(commandType(name) == type, name);
        for (const char *other : {"", "Screenshot", "reboot ", "format_disk"})
            QVERIFY2(commandType(other) == CommandType::Unknown, other);
        // The player carries out what it can see or drive; the agent the rest.
        QVERIFY(runsInPlayer(CommandType::Screenshot));
        QVERIFY(runsInPlayer(CommandType::RestartPlayer));
        QVERIFY(runsInPlayer(CommandType::DisplayOn));
        QVERIFY(runsInPlayer(CommandType::DisplayOff));
        QVERIFY(!runsInPlayer(CommandType::Reboot));
        QVERIFY(!runsInPlayer(CommandType::ClearCache));
        QVERIFY(!runsInPlayer(CommandType::Unknown));
    }

    // Stoa's fade_ms (docs/protocol.md) comes with the model, and a bad one
    // is ignored, never a reason to reject (other readers ignore it too).
    void fadeMsIsReadLeniently()
    {
        const QJsonValue values[] = {QJsonValue(400), QJsonValue(0), QJsonValue(10000), QJsonValue(10001),
                                     QJsonValue(-1), QJsonValue("400"), QJsonValue(true)};
        const std::optional<int> expected[] = {400, 0, 10000, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
        for (std::size_t i = 0; i < std::size(values); ++i) {
            QJsonObject o = validManifest();
            QJsonObject playlists = o["playlists"].toObject();
            QJsonObject lobby = playlists["lobby"].toObject();
            QJsonArray items = lobby["items"].toArray();
            QJsonObject first = items[0].toObject();
            first["fade_ms"] = values[i];
            items[0] = first;
            lobby["items"] = items;
            playlists["lobby"] = lobby;
            o["playlists"] = playlists;
            auto m = parseManifest(toJson(o));
            QVERIFY2(m.has_value(), m ? "" : qPrintable(m.error().reason));
            QCOMPARE(m->playlists.at("lobby").items.at(0).fadeMs, expected[i]);
            QCOMPARE(m->playlists.at("lobby").items.at(1).fadeMs, std::nullopt);
        }
    }

    // The one reader of a stored manifest: envelope and payload parsed, the
    // signers' key ids kept, each failure said as whose.
    void storedManifestIsReadWithoutVerifying()
    {
        const PrivateKey a = newKey(), b = newKey();
        const QByteArray envelope = signedManifest(validManifest(), {a, b});
        auto content = readStoredManifest(envelope);
        QVERIFY2(content.has_value(), content ? "" : qPrintable(content.error().reason));
        QCOMPARE(content->manifest.version, 42);
        std::vector<std::string> ids{a.publicKey().keyId(), b.publicKey().keyId()};
        std::vector<std::string> got = content->signerKeyIds;
        std::sort(ids.begin(), ids.end());
        std::sort(got.begin(), got.end());
        QCOMPARE(got, ids);
        auto broken = readStoredManifest(QByteArray("{not json"));
        QVERIFY(!broken);
        QVERIFY2(broken.error().reason.startsWith("envelope does not parse: "), qPrintable(broken.error().reason));
        QJsonObject bad = validManifest();
        bad["version"] = "forty-two";
        auto badPayload = readStoredManifest(signedManifest(bad, {a}));
        QVERIFY(!badPayload);
        QVERIFY2(badPayload.error().reason.startsWith("manifest does not parse: "), qPrintable(badPayload.error().reason));
    }

    void validManifestMapsOntoModel()
    {
        auto m = parseManifest(toJson(validManifest()));
        QVERIFY2(m.has_value(), m ? "" : qPrintable(m.error().reason));
        QCOMPARE(m->schema, 1);
        QCOMPARE(m->version, 42);
        QCOMPARE(m->issuedAt, at("2026-11-23T10:00:00Z"));
        QCOMPARE(m->expiresAt, at("2099-12-23T10:00:00Z"));
        QCOMPARE(m->devices, std::vector<std::string>{"*"});
        QCOMPARE(m->timezone, QStringLiteral("Europe/Oslo"));
        QCOMPARE(m->assets.size(), std::size_t(2));
        const Asset &image = m->assets.at(*Digest::fromHex(std::string(64, 'a')));
        QCOMPARE(image.size, std::uint64_t(183422));
        QCOMPARE(image.mediaType, std::string("image/jpeg"));
        const Playlist &lobby = m->playlists.at("lobby");
        QCOMPARE(lobby.items.size(), std::size_t(3));
        QCOMPARE(lobby.items[0].asset->hex(), std::string(64, 'a'));
        QCOMPARE(lobby.items[0].durationMs, std::optional<std::int64_t>(8000));
        QVERIFY(!lobby.items[1].durationMs.has_value());
        QVERIFY(lobby.items[1].fit == Fit::Contain);
        QCOMPARE(*lobby.items[2].url, QStringLiteral("https://example.com/menu"));
        QCOMPARE(m->schedule.size(), std::size_t(1));
        const ScheduleEntry &e = m->schedule[0];
        QCOMPARE(e.playlist, std::string("breakfast"));
        QCOMPARE(e.priority, 10);
        QCOMPARE(e.days, (std::vector<Weekday>{Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri}));
        QCOMPARE(e.fromMinute, std::optional<int>(6 * 60));
        QCOMPARE(e.untilMinute, std::optional<int>(10 * 60 + 30));
        QCOMPARE(*e.startDate, QDate(2026, 11, 1));
        QCOMPARE(*e.endDate, QDate(2026, 12, 31));
        QCOMPARE(*m->defaultPlaylist, std::string("lobby"));
        QCOMPARE(m->display->onMinute, 7 * 60);
        QCOMPARE(m->display->offMinute, 22 * 60);
        QCOMPARE(m->settings.syncIntervalS, std::optional<int>(300));
        QCOMPARE(m->settings.statusIntervalS, std::optional<int>(60));
        QCOMPARE(m->settings.rotation, std::optional<int>(0));
        QCOMPARE(m->commands.size(), std::size_t(1));
        QCOMPARE(m->commands[0].id, std::string("cmd-7"));
        QCOMPARE(m->commands[0].type, std::string("screenshot"));
    }

    void acceptedVariants_data()
    {
        QTest::addColumn<QByteArray>("json");
        QJsonObject minimal{{"schema", 1}, {"version", 1}, {"issued_at", "2026-11-23T10:00:00Z"},
                            {"expires_at", "2026-12-23T10:00:00Z"}, {"devices", QJsonArray{"pi-1", "pi.2_X-3"}},
                            {"timezone", "UTC"}};
        QTest::newRow("minimal") << toJson(minimal);
        QTest::newRow("unknown fields ignored") << manifestWith({"future_field"}, QJsonObject{{"x", 1}});
        QTest::newRow("unknown nested field") << manifestWith({"playlists", "lobby", "items", 0, "transition"}, "fade");
        QTest::newRow("unknown command type kept") << manifestWith({"commands", 0, "type"}, "self_destruct");
        QTest::newRow("offset time") << manifestWith({"issued_at"}, "2026-11-23T11:00:00.250+01:00");
        QTest::newRow("wrapping times") << manifestWith({"schedule", 0, "from"}, "22:00");
        QTest::newRow("fit cover") << manifestWith({"playlists", "lobby", "items", 0, "fit"}, "cover");
        QTest::newRow("fit stretch") << manifestWith({"playlists", "lobby", "items", 0, "fit"}, "stretch");
        QTest::newRow("Etc/UTC (an IANA link, not in zone.tab)") << manifestWith({"timezone"}, "Etc/UTC");
        QTest::newRow("rotation 270") << manifestWith({"settings", "rotation"}, 270);
        QTest::newRow("sync 5") << manifestWith({"settings", "sync_interval_s"}, 5);
        QTest::newRow("status 10") << manifestWith({"settings", "status_interval_s"}, 10);
        QTest::newRow("integral double version") << manifestWith({"version"}, 43.0);
        QTest::newRow("negative priority") << manifestWith({"schedule", 0, "priority"}, -5);
        QTest::newRow("default_playlist null") << manifestWith({"default_playlist"}, QJsonValue::Null);
        QTest::newRow("no default_playlist") << manifestWith({"default_playlist"}, kRemove);
        QTest::newRow("escaped keys differ") << QByteArray(R"({"schema":1,"version":1,"issued_at":"2026-11-23T10:00:00Z",
            "expires_at":"2026-12-23T10:00:00Z","devices":["*"],"timezone":"UTC","x\u0041":1,"xa":2})");
    }
    void acceptedVariants()
    {
        QFETCH(QByteArray, json);
        auto m = parseManifest(json);
        QVERIFY2(m.has_value(), m ? "" : qPrintable(m.error().reason));
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("mentions"); // a word the operator-facing reason must contain

        const QString img = kImage;
        QTest::newRow("not json") << QByteArray("{\"schema\":1,") << "invalid JSON";
        QTest::newRow("top level array") << QByteArray("[]") << "not an object";
        QTest::newRow("duplicate top-level key")
            << QByteArray(toJson(validManifest())).replace("\"version\":42", "\"version\":42,\"version\":43") << "duplicate key \"version\"";
        QTest::newRow("duplicate key via escape")
            << QByteArray(toJson(validManifest())).replace("\"version\":42", "\"version\":42,\"versio\\u006e\":43") << "duplicate key";
        QTest::newRow("duplicate nested key")
            << QByteArray(toJson(validManifest())).replace("\"fit\":\"contain\"", "\"fit\":\"contain\",\"fit\":\"cover\"") << "duplicate key \"fit\"";
        QTest::newRow("schema missing") << manifestWith({"schema"}, kRemove) << "schema";
        QTest::newRow("schema 2") << manifestWith({"schema"}, 2) << "schema";
        QTest::newRow("version missing") << manifestWith({"version"}, kRemove) << "version";
        QTest::newRow("version string") << manifestWith({"version"}, "42") << "version";
        QTest::newRow("version fraction") << manifestWith({"version"}, 42.5) << "version";
        QTest::newRow("version huge") << manifestWith({"version"}, 1e300) << "version";
        QTest::newRow("version negative") << manifestWith({"version"}, -1) << "version";
        QTest::newRow("issued_at missing") << manifestWith({"issued_at"}, kRemove) << "issued_at";
        QTest::newRow("issued_at no offset") << manifestWith({"issued_at"}, "2026-11-23T10:00:00") << "issued_at";
        QTest::newRow("issued_at date only") << manifestWith({"issued_at"}, "2026-11-23") << "issued_at";
        QTest::newRow("expires_at bad day") << manifestWith({"expires_at"}, "2026-02-30T10:00:00Z") << "expires_at";
        QTest::newRow("expires_at number") << manifestWith({"expires_at"}, 1700000000) << "expires_at";
        QTest::newRow("expires_at trailing") << manifestWith({"expires_at"}, "2026-12-23T10:00:00Zx") << "expires_at";
        QTest::newRow("devices missing") << manifestWith({"devices"}, kRemove) << "devices";
        QTest::newRow("devices empty") << manifestWith({"devices"}, QJsonArray{}) << "devices";
        QTest::newRow("devices string") << manifestWith({"devices"}, "*") << "devices";
        QTest::newRow("device id bad chars") << manifestWith({"devices"}, QJsonArray{"pi lobby"}) << "devices";
        QTest::newRow("device id too long") << manifestWith({"devices"}, QJsonArray{QString(65, 'a')}) << "devices";
        QTest::newRow("timezone missing") << manifestWith({"timezone"}, kRemove) << "timezone";
        QTest::newRow("timezone unknown") << manifestWith({"timezone"}, "Europe/Atlantis") << "timezone";
        QTest::newRow("timezone Qt offset name") << manifestWith({"timezone"}, "UTC+01:00") << "timezone";
        QTest::newRow("timezone number") << manifestWith({"timezone"}, 1) << "timezone";
        QTest::newRow("assets array") << manifestWith({"assets"}, QJsonArray{}) << "assets";
        QTest::newRow("asset name no prefix") << manifestWith({"assets", QString(64, 'c')}, QJsonObject{{"size", 1}, {"media_type", "image/png"}}) << "asset names";
        QTest::newRow("asset name uppercase hex") << manifestWith({"assets", "sha256:" + QString(64, 'C')}, QJsonObject{{"size", 1}, {"media_type", "image/png"}}) << "asset names";
        QTest::newRow("asset name short hex") << manifestWith({"assets", "sha256:" + QString(63, 'c')}, QJsonObject{{"size", 1}, {"media_type", "image/png"}}) << "asset names";
        QTest::newRow("asset size missing") << manifestWith({"assets", img, "size"}, kRemove) << "size";
        QTest::newRow("asset size string") << manifestWith({"assets", img, "size"}, "183422") << "size";
        QTest::newRow("asset size zero") << manifestWith({"assets", img, "size"}, 0) << "size";
        QTest::newRow("asset size negative") << manifestWith({"assets", img, "size"}, -5) << "size";
        QTest::newRow("asset size fraction") << manifestWith({"assets", img, "size"}, 1.5) << "size";
        QTest::newRow("asset media_type missing") << manifestWith({"assets", img, "media_type"}, kRemove) << "media_type";
        QTest::newRow("asset not object") << manifestWith({"assets", img}, 5) << "assets.";
        QTest::newRow("playlists array") << manifestWith({"playlists"}, QJsonArray{}) << "playlists";
        QTest::newRow("playlist no items") << manifestWith({"playlists", "lobby", "items"}, kRemove) << "items";
        QTest::newRow("items not array") << manifestWith({"playlists", "lobby", "items"}, QJsonObject{}) << "items";
        QTest::newRow("item not object") << manifestWith({"playlists", "lobby", "items", 0}, "x") << "items[0]";
        QTest::newRow("item both asset and url") << manifestWith({"playlists", "lobby", "items", 0, "url"}, "https://example.com/") << "exactly one";
        QTest::newRow("item neither asset nor url") << manifestWith({"playlists", "lobby", "items", 1, "asset"}, kRemove) << "exactly one";
        QTest::newRow("item asset not declared") << manifestWith({"playlists", "lobby", "items", 1, "asset"}, "sha256:" + QString(64, 'd')) << "not declared";
        QTest::newRow("item asset malformed") << manifestWith({"playlists", "lobby", "items", 1, "asset"}, "9f86d08") << "asset";
        QTest::newRow("item url relative") << manifestWith({"playlists", "lobby", "items", 2, "url"}, "/menu") << "url";
        QTest::newRow("item url javascript") << manifestWith({"playlists", "lobby", "items", 2, "url"}, "javascript:alert(1)") << "url";
        QTest::newRow("item url number") << manifestWith({"playlists", "lobby", "items", 2, "url"}, 7) << "url";
        QTest::newRow("duration zero") << manifestWith({"playlists", "lobby", "items", 0, "duration_ms"}, 0) << "duration_ms";
        QTest::newRow("duration string") << manifestWith({"playlists", "lobby", "items", 0, "duration_ms"}, "8000") << "duration_ms";
        QTest::newRow("fit unknown") << manifestWith({"playlists", "lobby", "items", 0, "fit"}, "fill") << "fit";
        QTest::newRow("fit number") << manifestWith({"playlists", "lobby", "items", 0, "fit"}, 1) << "fit";
        QTest::newRow("schedule object") << manifestWith({"schedule"}, QJsonObject{}) << "schedule";
        QTest::newRow("entry not object") << manifestWith({"schedule", 0}, 1) << "schedule[0]";
        QTest::newRow("entry dangling playlist") << manifestWith({"schedule", 0, "playlist"}, "dinner") << "\"dinner\" does not exist";
        QTest::newRow("entry playlist missing") << manifestWith({"schedule", 0, "playlist"}, kRemove) << "playlist";
        QTest::newRow("entry priority fraction") << manifestWith({"schedule", 0, "priority"}, 1.5) << "priority";
        QTest::newRow("entry priority too big") << manifestWith({"schedule", 0, "priority"}, 1e10) << "priority";
        QTest::newRow("days not array") << manifestWith({"schedule", 0, "days"}, "mon") << "days";
        QTest::newRow("day capitalised") << manifestWith({"schedule", 0, "days"}, QJsonArray{"Mon"}) << "days";
        QTest::newRow("day full name") << manifestWith({"schedule", 0, "days"}, QJsonArray{"monday"}) << "days";
        QTest::newRow("day number") << manifestWith({"schedule", 0, "days"}, QJsonArray{1}) << "days";
        QTest::newRow("from 24:00") << manifestWith({"schedule", 0, "from"}, "24:00") << "from";
        QTest::newRow("from one digit hour") << manifestWith({"schedule", 0, "from"}, "6:00") << "from";
        QTest::newRow("until minute 60") << manifestWith({"schedule", 0, "until"}, "10:60") << "until";
        QTest::newRow("until seconds") << manifestWith({"schedule", 0, "until"}, "10:30:00") << "until";
        QTest::newRow("start_date bad") << manifestWith({"schedule", 0, "start_date"}, "2026-13-01") << "start_date";
        QTest::newRow("end_date slashes") << manifestWith({"schedule", 0, "end_date"}, "2026/12/31") << "end_date";
        QTest::newRow("end before start") << manifestWith({"schedule", 0, "end_date"}, "2026-10-01") << "end_date is before";
        QTest::newRow("default_playlist dangling") << manifestWith({"default_playlist"}, "nope") << "default_playlist";
        QTest::newRow("default_playlist number") << manifestWith({"default_playlist"}, 3) << "default_playlist";
        QTest::newRow("display missing off") << manifestWith({"display", "off"}, kRemove) << "display.off";
        QTest::newRow("display bad on") << manifestWith({"display", "on"}, "7am") << "display.on";
        QTest::newRow("display array") << manifestWith({"display"}, QJsonArray{}) << "display";
        QTest::newRow("settings array") << manifestWith({"settings"}, QJsonArray{}) << "settings";
        QTest::newRow("sync below 5") << manifestWith({"settings", "sync_interval_s"}, 4) << "sync_interval_s";
        QTest::newRow("sync string") << manifestWith({"settings", "sync_interval_s"}, "300") << "sync_interval_s";
        QTest::newRow("status below 10") << manifestWith({"settings", "status_interval_s"}, 9) << "status_interval_s";
        QTest::newRow("rotation 45") << manifestWith({"settings", "rotation"}, 45) << "rotation";
        QTest::newRow("rotation string") << manifestWith({"settings", "rotation"}, "90") << "rotation";
        QTest::newRow("commands object") << manifestWith({"commands"}, QJsonObject{}) << "commands";
        QTest::newRow("command id missing") << manifestWith({"commands", 0, "id"}, kRemove) << "commands[0]";
        QTest::newRow("command id empty") << manifestWith({"commands", 0, "id"}, "") << "commands[0]";
        QTest::newRow("command type number") << manifestWith({"commands", 0, "type"}, 3) << "commands[0]";
        QTest::newRow("duplicate command ids") << manifestWith({"commands", 1}, QJsonObject{{"id", "cmd-7"}, {"type", "reboot"}}) << "duplicate command id \"cmd-7\"";
    }
    void malformed()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, mentions);
        auto m = parseManifest(json);
        QCOMPARE(outcome(m), QStringLiteral("MalformedPayload"));
        QVERIFY2(m.error().reason.contains(mentions), qPrintable(m.error().reason));
    }

    void referencesRecheckedOnBuiltManifest()
    {
        auto m = parseManifest(toJson(validManifest()));
        QVERIFY(m.has_value());
        QVERIFY(checkReferences(*m).has_value());
        Manifest broken = *m;
        broken.assets.erase(*Digest::fromHex(std::string(64, 'b')));
        QCOMPARE(outcome(checkReferences(broken)), QStringLiteral("MalformedPayload"));
        broken = *m;
        broken.defaultPlaylist = "gone";
        QCOMPARE(outcome(checkReferences(broken)), QStringLiteral("MalformedPayload"));
    }
};

QTEST_GUILESS_MAIN(TestManifestParse)
#include "tst_manifest_parse.moc"
