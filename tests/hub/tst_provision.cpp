// tests/hub/tst_provision.cpp — `stoa-hub device add ID --provision DIR`
// end to end with the real executables: the bundle the hub writes is taken
// over by the real `stoa provision --boot DIR --etc ETC`, read back by the
// device's own config loader (sync::loadAgentConfig, what stoa-syncd runs)
// and by `stoa-syncd --check-config`, and the token in it is accepted by a
// running `stoa-hub serve`. Also: an existing bundle is never replaced
// without --force, and bad input is refused with a message, a nonzero exit
// and nothing registered nor written. Against the backend
// STOA_HUB_TEST_BACKEND names (backends.h).
//
// Waits are polls against deadlines, never fixed sleeps.
#include "backends.h"
#include "http_client.h"
#include "served_hub.h"
#include "test_pki.h"

#include "schedule/keys.h"
#include "settings/stoa_conf.h"
#include "sync/config.h"
#include "sync/http.h"

#include <QDateTime>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

const QString kStoaBin = QStringLiteral(STOA_BIN);
const QString kSyncdBin = QStringLiteral(STOA_SYNCD);

constexpr int kRunTimeoutMs = 30000;

const QRegularExpression kDeviceToken(QStringLiteral("^stoa_dev_[A-Za-z0-9_-]{43}$"));

using Run = ProgramRun;

Run run(const QString &program, const QStringList &args)
{
    return runProgram(program, args, RunOptions().timeout(kRunTimeoutMs));
}

std::string heartbeat(const std::string &id, std::int64_t version)
{
    return R"({"device_id":")" + id + R"(","software_version":"0.1.0","sent_at":")"
           + QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString()
           + R"(","uptime_s":5,"manifest":{"version":)" + std::to_string(version) + R"(,"stale":false}})";
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<missing>");
}

int modeOf(const QString &path)
{
    struct stat st {};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 ? int(st.st_mode & 0777) : -1;
}

// Everything in `dir`, hidden files included: a failed or refused command
// must leave no temporary behind.
QStringList entries(const QString &dir)
{
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
}

} // namespace

class ProvisionTest : public QObject {
    Q_OBJECT

    Backends backends;

    // `stoa-hub ARGS --data-dir DATA [--database URL]`.
    static Run hub(QStringList args, const QString &data, const std::string &db)
    {
        args << "--data-dir" << data;
        if (!db.empty())
            args << "--database" << QString::fromStdString(db);
        return run(kHubBin, args);
    }

private slots:
    void initTestCase()
    {
        for (const QString &bin : {kHubBin, kStoaBin, kSyncdBin})
            QVERIFY2(QFile::exists(bin), qPrintable("missing " + bin));
        curl_global_init(CURL_GLOBAL_ALL);
        if (auto why = backends.init())
            QFAIL(why->c_str()); // CI installs the server: its absence is a failure, not a skip
        qInfo("backend: %s", Backends::postgres() ? "postgres" : "sqlite");
    }

    void cleanupTestCase() { curl_global_cleanup(); }

    // The whole path: hub CLI -> boot partition -> `stoa provision` -> the
    // device's config loader -> a request the running hub accepts.
    void provisionedDeviceReachesTheHub()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString data = dir.filePath("hub"), boot = dir.filePath("boot"), etc = dir.filePath("etc");
        QVERIFY(QDir().mkpath(boot));
        const std::string db = backends.freshUrl();

        // Serving first: it creates the hub's signing key, which a small
        // deployment's devices trust as their root (docs/hub.md, Keys).
        ServedHub served(data, db, dir.filePath("hub.log"));
        const QString started = served.start();
        QVERIFY2(started.isEmpty(), qPrintable(started));
        const QString signingPub = data + "/keys/signing.pub";
        QVERIFY2(QFile::exists(signingPub), qPrintable(served.output()));
        const QString base = QString::fromStdString(served.base());

        // Added while the hub serves, with a trailing slash the device must not get.
        const Run added = hub({"device", "add", "lobby-01", "--provision", boot, "--public-url", base + "/",
                               "--root-key", signingPub, "--etc", etc},
                              data, db);
        QVERIFY2(added.exitCode == 0, added.describe());
        QVERIFY2(kDeviceToken.match(added.lastLine()).hasMatch(), added.describe());
        const QString token = added.lastLine();
        QCOMPARE(added.out.count(token), qsizetype(1)); // printed once, on the last line
        QVERIFY2(added.err.isEmpty(), added.describe());

        // The bundle: exactly its three files, the token's not readable by others.
        QCOMPARE(entries(boot), (QStringList{"stoa-root.pub", "stoa-token", "stoa.conf"}));
        QCOMPARE(modeOf(boot + "/stoa-token"), 0600);
        QCOMPARE(modeOf(boot + "/stoa.conf"), 0644);
        QCOMPARE(readAll(boot + "/stoa-token"), token.toUtf8() + "\n");
        QCOMPARE(readAll(boot + "/stoa-root.pub"), readAll(signingPub));
        QVERIFY2(!readAll(boot + "/stoa.conf").contains(token.toUtf8()), "the token is in stoa-token only");

        // The device's first boot.
        const Run provisioned = run(kStoaBin, {"provision", "--boot", boot, "--etc", etc});
        QVERIFY2(provisioned.exitCode == 0, provisioned.describe());
        for (const char *name : {"stoa.conf", "stoa-root.pub", "stoa-token"}) {
            QVERIFY2(provisioned.out.contains(QStringLiteral("applied %1 -> ").arg(name)), provisioned.describe());
            QVERIFY2(QFile::exists(boot + "/" + name + ".applied"), name);
        }
        QCOMPARE(modeOf(etc + "/token"), 0640);

        // Read back by the code stoa-syncd runs.
        const auto config = stoa::sync::loadAgentConfig({"stoa-syncd", "--config", etc + "/stoa.conf"});
        QVERIFY2(config.has_value(), config ? "" : config.error().message.c_str());
        QCOMPARE(QString::fromStdString(config->server), base);
        QCOMPARE(config->deviceId, std::string("lobby-01"));
        QCOMPARE(QString::fromStdString(config->tokenFile), etc + "/token");
        QCOMPARE(QString::fromStdString(config->trustedKeys), etc + "/root.pub");
        QCOMPARE(config->caFile, std::string());
        QCOMPARE(config->listen, std::string("127.0.0.1:9642"));
        QCOMPARE(config->dataDir, std::string("/var/lib/stoa"));
        // The player's key: its QR code opens this device's page on the same hub's console.
        stoa::settings::Settings player = stoa::settings::defaults();
        QVERIFY(stoa::settings::readFile(etc + "/stoa.conf", player, stoa::settings::Mode::Strict,
                                         stoa::settings::IfMissing::Error).empty());
        QCOMPARE(QString::fromStdString(player.hubConsoleUrl), base + "/console/");
        const QByteArray installedToken = readAll(QString::fromStdString(config->tokenFile)).trimmed(); // as stoa-syncd reads it
        QCOMPARE(QString::fromUtf8(installedToken), token);
        const auto roots = stoa::schedule::loadPublicKeysPemFile(QString::fromStdString(config->trustedKeys));
        QVERIFY2(roots && roots->size() == 1, roots ? "not one key" : qPrintable(roots.error().reason));

        const Run checked = run(kSyncdBin, {"--config", etc + "/stoa.conf", "--check-config"});
        QVERIFY2(checked.exitCode == 0, checked.describe());
        QVERIFY2(checked.out.contains("configuration ok (server " + base + ")"), checked.describe());

        // The token from the installed file, where the config says, at the
        // URL the config says, is the device's credential on the hub.
        HttpClient device(config->server);
        device.setToken(installedToken.toStdString());
        const auto posted = device.post("/v1/devices/lobby-01/status", heartbeat("lobby-01", 3));
        QVERIFY2(posted.status == 204, (std::to_string(posted.status) + " " + posted.body + posted.error).c_str());
        HttpClient stranger(config->server);
        stranger.setToken(std::string("stoa_dev_") + std::string(43, 'A'));
        QCOMPARE(stranger.post("/v1/devices/lobby-01/status", heartbeat("lobby-01", 4)).status, 401L);
    }

    // A hub serving HTTPS with a certificate from a private CA: --ca-file
    // puts the CA into the bundle, `stoa provision` installs it before the
    // stoa.conf that names it, and the device's own transport, configured
    // by that file alone, reaches the hub. Re-provisioned with --force and
    // no --ca-file, the earlier stoa-ca.pem does not stay in the bundle.
    void caFileTravelsWithTheBundle()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString data = dir.filePath("hub"), boot = dir.filePath("boot"), etc = dir.filePath("etc");
        QVERIFY(QDir().mkpath(boot));
        const Pki pki = makePki(dir.path(), "prov");
        const std::string db = backends.freshUrl();
        ServedHub served(data, db, dir.filePath("hub.log"));
        const QString started = served.start(QStringLiteral("127.0.0.1:0"), {"--tls-cert", pki.cert, "--tls-key", pki.key});
        QVERIFY2(started.isEmpty(), qPrintable(started));
        const QString base = QString::fromStdString(served.base());
        QVERIFY2(base.startsWith("https://"), qPrintable(base));

        const Run added = hub({"device", "add", "tls-01", "--provision", boot, "--public-url", base, "--ca-file", pki.ca,
                               "--etc", etc},
                              data, db);
        QVERIFY2(added.exitCode == 0, added.describe());
        QCOMPARE(entries(boot), (QStringList{"stoa-ca.pem", "stoa-token", "stoa.conf"}));
        QCOMPARE(readAll(boot + "/stoa-ca.pem"), readAll(pki.ca));
        QCOMPARE(modeOf(boot + "/stoa-ca.pem"), 0644);
        const QString token = added.lastLine();

        const Run provisioned = run(kStoaBin, {"provision", "--boot", boot, "--etc", etc});
        QVERIFY2(provisioned.exitCode == 0, provisioned.describe());
        // The CA is in place before the configuration that names it.
        const qsizetype caAt = provisioned.out.indexOf("applied stoa-ca.pem -> "),
                        confAt = provisioned.out.indexOf("applied stoa.conf -> ");
        QVERIFY2(caAt >= 0 && confAt > caAt, provisioned.describe());
        QCOMPARE(readAll(etc + "/ca.pem"), readAll(pki.ca));

        const auto config = stoa::sync::loadAgentConfig({"stoa-syncd", "--config", etc + "/stoa.conf"});
        QVERIFY2(config.has_value(), config ? "" : config.error().message.c_str());
        QCOMPARE(QString::fromStdString(config->caFile), etc + "/ca.pem");
        QCOMPARE(QString::fromStdString(config->server), base);
        const Run checked = run(kSyncdBin, {"--config", etc + "/stoa.conf", "--check-config"});
        QVERIFY2(checked.exitCode == 0, checked.describe());

        // The device's transport as stoa-syncd builds it from the file.
        stoa::sync::HttpOptions o;
        o.caFile = config->caFile;
        o.bearerToken = readAll(QString::fromStdString(config->tokenFile)).trimmed().toStdString();
        QCOMPARE(QString::fromStdString(o.bearerToken), token);
        stoa::sync::HttpClient device(o);
        stoa::sync::Request status;
        status.url = config->server + "/v1/devices/tls-01/status";
        status.method = "POST";
        status.contentType = "application/json";
        status.body = heartbeat("tls-01", 2);
        const auto posted = device.perform(status);
        QVERIFY2(posted.has_value(), posted ? "" : posted.error().message.c_str());
        QCOMPARE(posted->status, 204L);
        // Without the CA the same request is refused by TLS: the CA is what made it work.
        o.caFile.clear();
        stoa::sync::HttpClient untrusting(o);
        const auto refused = untrusting.perform(status);
        QVERIFY(!refused.has_value());
        QCOMPARE(refused.error().kind, stoa::sync::TransferError::Tls);

        // A second bundle for another device over the first one, --force,
        // no --ca-file: no stoa-ca.pem of the first device stays behind.
        const QString boot2 = dir.filePath("boot2");
        QVERIFY(QDir().mkpath(boot2));
        QVERIFY(QFile::copy(pki.ca, boot2 + "/stoa-ca.pem"));
        const Run refusedOver = hub({"device", "add", "tls-02", "--provision", boot2, "--public-url", base}, data, db);
        QVERIFY2(refusedOver.exitCode == 1, refusedOver.describe()); // an existing bundle file, no --force
        QVERIFY2(refusedOver.err.contains("stoa-ca.pem"), refusedOver.describe());
        const Run forced = hub({"device", "add", "tls-02", "--provision", boot2, "--public-url", base, "--force"}, data, db);
        QVERIFY2(forced.exitCode == 0, forced.describe());
        QVERIFY2(forced.err.contains("no --ca-file"), forced.describe());
        QCOMPARE(entries(boot2), (QStringList{"stoa-token", "stoa.conf"}));
        QVERIFY(!readAll(boot2 + "/stoa.conf").contains("ca_file"));
    }

    // `serve --public-url` records the URL in the data directory; a later
    // `device add --provision` there without --public-url uses it (and
    // says so), an explicit --public-url still wins, and a bad URL stops
    // `serve` before it starts.
    void servedPublicUrlIsTheDefault()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString data = dir.filePath("hub"), boot = dir.filePath("boot"), boot2 = dir.filePath("boot2");
        QVERIFY(QDir().mkpath(boot));
        QVERIFY(QDir().mkpath(boot2));
        const std::string db = backends.freshUrl();

        const Run badServe = hub({"serve", "--listen", "127.0.0.1:0", "--public-url", "ftp://hub"}, data, db);
        QVERIFY2(badServe.exitCode == 2, badServe.describe());
        QVERIFY2(badServe.err.contains("--public-url"), badServe.describe());

        ServedHub served(data, db, dir.filePath("hub.log"));
        const QString started = served.start(QStringLiteral("127.0.0.1:0"), {"--public-url", "https://hub.example.com/stoa/"});
        QVERIFY2(started.isEmpty(), qPrintable(started));
        QCOMPARE(readAll(data + "/public-url"), QByteArray("https://hub.example.com/stoa\n"));

        const Run added = hub({"device", "add", "pi-z", "--provision", boot}, data, db);
        QVERIFY2(added.exitCode == 0, added.describe());
        QVERIFY2(added.err.contains("https://hub.example.com/stoa, the URL `stoa-hub serve --public-url` recorded"),
                 added.describe());
        QVERIFY2(readAll(boot + "/stoa.conf").contains("\nserver = https://hub.example.com/stoa\n"),
                 readAll(boot + "/stoa.conf").constData());

        const Run explicitUrl = hub({"device", "add", "pi-w", "--provision", boot2, "--public-url", "https://other.example.com"},
                                    data, db);
        QVERIFY2(explicitUrl.exitCode == 0, explicitUrl.describe());
        QVERIFY2(!explicitUrl.err.contains("recorded"), explicitUrl.describe());
        QVERIFY2(readAll(boot2 + "/stoa.conf").contains("\nserver = https://other.example.com\n"),
                 readAll(boot2 + "/stoa.conf").constData());
    }

    void refusesToReplaceABundleWithoutForce()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString data = dir.filePath("hub"), boot = dir.filePath("boot"), etc = dir.filePath("etc");
        QVERIFY(QDir().mkpath(boot));
        const std::string db = backends.freshUrl();
        QVERIFY(QDir().mkpath(dir.filePath("keys")));
        const Run keygen = run(kStoaBin, {"keygen", "--out", dir.filePath("keys/root")});
        QVERIFY2(keygen.exitCode == 0, keygen.describe());
        const QString url = "https://hub.example.com";

        const Run first = hub({"device", "add", "pi-1", "--provision", boot, "--public-url", url, "--root-key",
                               dir.filePath("keys/root.pub")}, data, db);
        QVERIFY2(first.exitCode == 0, first.describe());
        const QByteArray firstConf = readAll(boot + "/stoa.conf");
        const QByteArray firstToken = readAll(boot + "/stoa-token");
        QVERIFY(firstConf.contains("device_id = pi-1\n"));

        // Another device into the same directory: refused, nothing changed,
        // nothing registered (pi-2 can be added afterwards).
        const Run second = hub({"device", "add", "pi-2", "--provision", boot, "--public-url", url}, data, db);
        QVERIFY2(second.exitCode == 1, second.describe());
        QVERIFY2(second.err.contains("already holds a provisioning bundle") && second.err.contains("--force"),
                 second.describe());
        QVERIFY2(!second.out.contains("stoa_dev_"), second.describe());
        QCOMPARE(readAll(boot + "/stoa.conf"), firstConf);
        QCOMPARE(readAll(boot + "/stoa-token"), firstToken);
        QCOMPARE(entries(boot), (QStringList{"stoa-root.pub", "stoa-token", "stoa.conf"}));
        const Run plain = hub({"device", "add", "pi-2"}, data, db);
        QVERIFY2(plain.exitCode == 0, plain.describe());

        // A lone leftover file counts as a bundle too.
        QTemporaryDir lone;
        QVERIFY(QFile::copy(boot + "/stoa-token", lone.filePath("stoa-token")));
        const Run loneRefused = hub({"device", "add", "pi-5", "--provision", lone.path(), "--public-url", url}, data, db);
        QVERIFY2(loneRefused.exitCode == 1, loneRefused.describe());

        // --force replaces it whole: the earlier root key goes too, since
        // this bundle carries none.
        const Run forced = hub({"device", "add", "pi-3", "--provision", boot, "--public-url", url, "--force"}, data, db);
        QVERIFY2(forced.exitCode == 0, forced.describe());
        QVERIFY2(kDeviceToken.match(forced.lastLine()).hasMatch(), forced.describe());
        QCOMPARE(entries(boot), (QStringList{"stoa-token", "stoa.conf"}));
        QVERIFY(readAll(boot + "/stoa.conf").contains("device_id = pi-3\n"));
        QCOMPARE(readAll(boot + "/stoa-token"), forced.lastLine().toUtf8() + "\n");
        QCOMPARE(modeOf(boot + "/stoa-token"), 0600);
        QVERIFY2(forced.out.contains("the device must already hold /etc/stoa/root.pub"), forced.describe());

        // Once a device took the bundle over (*.applied), the directory is
        // free for the next one without --force.
        QVERIFY(QDir().mkpath(etc));
        QVERIFY(QFile::copy(dir.filePath("keys/root.pub"), etc + "/root.pub")); // what the image would hold
        const Run provisioned = run(kStoaBin, {"provision", "--boot", boot, "--etc", etc});
        QVERIFY2(provisioned.exitCode == 0, provisioned.describe());
        const Run next = hub({"device", "add", "pi-4", "--provision", boot, "--public-url", url}, data, db);
        QVERIFY2(next.exitCode == 0, next.describe());
        QVERIFY(readAll(boot + "/stoa.conf").contains("device_id = pi-4\n"));
    }

    void refusesBadInput()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString data = dir.filePath("hub"), boot = dir.filePath("boot");
        QVERIFY(QDir().mkpath(boot));
        const std::string db = backends.freshUrl();
        const QString url = "https://hub.example.com";
        QFile notAKey(dir.filePath("not-a-key.pem"));
        QVERIFY(notAKey.open(QIODevice::WriteOnly));
        notAKey.write("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n");
        notAKey.close();
        QFile plainFile(dir.filePath("a-file"));
        QVERIFY(plainFile.open(QIODevice::WriteOnly));
        plainFile.close();

        struct Case {
            const char *what;
            QStringList args;
            int exitCode;
            QString message; // in stderr
        };
        const QList<Case> cases = {
            {"bad id", {"device", "add", "bad id!", "--provision", boot, "--public-url", url}, 2, "device id"},
            {"id with a slash", {"device", "add", "../pi", "--provision", boot, "--public-url", url}, 2, "device id"},
            {"no URL", {"device", "add", "pi-x", "--provision", boot}, 2, "--public-url"},
            {"ftp URL", {"device", "add", "pi-x", "--provision", boot, "--public-url", "ftp://hub"}, 2, "http:// or https://"},
            {"URL with #", {"device", "add", "pi-x", "--provision", boot, "--public-url", "https://hub/#x"}, 2, "'#'"},
            {"URL with credentials", {"device", "add", "pi-x", "--provision", boot, "--public-url", "https://u:p@hub"}, 2,
             "credentials"},
            {"URL with a query", {"device", "add", "pi-x", "--provision", boot, "--public-url", "https://hub/?a=b"}, 2, "query"},
            {"URL without --provision", {"device", "add", "pi-x", "--public-url", url}, 2, "goes with --provision"},
            {"--force without --provision", {"device", "add", "pi-x", "--force"}, 2, "goes with --provision"},
            {"revoke with --provision", {"device", "revoke", "pi-x", "--provision", boot}, 2, "goes with device add"},
            {"relative --etc", {"device", "add", "pi-x", "--provision", boot, "--public-url", url, "--etc", "etc/stoa"}, 2,
             "absolute path"},
            {"unreadable root key", {"device", "add", "pi-x", "--provision", boot, "--public-url", url, "--root-key",
                                     dir.filePath("missing.pub")}, 2, "cannot read"},
            {"root key that is no key", {"device", "add", "pi-x", "--provision", boot, "--public-url", url, "--root-key",
                                         notAKey.fileName()}, 2, "root key"},
            {"unreadable CA file", {"device", "add", "pi-x", "--provision", boot, "--public-url", url, "--ca-file",
                                    dir.filePath("missing.pem")}, 2, "cannot read"},
            {"CA file holding a key", {"device", "add", "pi-x", "--provision", boot, "--public-url", url, "--ca-file",
                                       notAKey.fileName()}, 2, "the CA file: PEM block \"PUBLIC KEY\""},
            {"empty CA file", {"device", "add", "pi-x", "--provision", boot, "--public-url", url, "--ca-file",
                               plainFile.fileName()}, 2, "the CA file: no \"CERTIFICATE\""},
            {"--ca-file without --provision", {"device", "add", "pi-x", "--ca-file", notAKey.fileName()}, 2,
             "goes with --provision"},
            {"missing bundle directory", {"device", "add", "pi-x", "--provision", dir.filePath("unmounted"), "--public-url",
                                          url}, 3, "does not exist"},
            {"bundle directory that is a file", {"device", "add", "pi-x", "--provision", plainFile.fileName(),
                                                 "--public-url", url}, 3, "not a directory"},
            // procfs refuses new files even to root, who ignores modes.
            {"unwritable bundle directory", {"device", "add", "pi-x", "--provision", "/proc", "--public-url", url}, 3,
             "cannot write in /proc"},
        };
        QList<Case> all = cases;
        QTemporaryDir readOnly;
        if (::geteuid() != 0) {
            QVERIFY(QFile::setPermissions(readOnly.path(), QFile::ReadOwner | QFile::ExeOwner));
            all.append({"read-only bundle directory", {"device", "add", "pi-x", "--provision", readOnly.path(),
                                                       "--public-url", url}, 3, "cannot write in"});
        }
        for (const Case &c : all) {
            const Run r = hub(c.args, data, db);
            QVERIFY2(r.exitCode == c.exitCode, (QByteArray(c.what) + ": " + r.describe()).constData());
            QVERIFY2(r.err.contains(c.message), (QByteArray(c.what) + ": " + r.describe()).constData());
            QVERIFY2(!r.out.contains("stoa_dev_"), (QByteArray(c.what) + ": " + r.describe()).constData());
            QVERIFY2(entries(boot).isEmpty(), (QByteArray(c.what) + ": wrote " + entries(boot).join(' ').toUtf8()).constData());
        }
        QVERIFY(entries(readOnly.path()).isEmpty());
        QFile::setPermissions(readOnly.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);

        // None of the refusals registered pi-x.
        const Run plain = hub({"device", "add", "pi-x"}, data, db);
        QVERIFY2(plain.exitCode == 0, plain.describe());
        // An id the hub already knows: refused by the registry, and the
        // bundle staged for it is removed, not left half-made.
        const Run taken = hub({"device", "add", "pi-x", "--provision", boot, "--public-url", url}, data, db);
        QVERIFY2(taken.exitCode == 1, taken.describe());
        QVERIFY2(!taken.out.contains("stoa_dev_"), taken.describe());
        QVERIFY2(entries(boot).isEmpty(), qPrintable(entries(boot).join(' ')));

        // Plain HTTP to another machine works, with a warning (the token
        // would cross the network in clear).
        const Run cleartext = hub({"device", "add", "pi-y", "--provision", boot, "--public-url", "http://hub.example.com"},
                                  data, db);
        QVERIFY2(cleartext.exitCode == 0, cleartext.describe());
        QVERIFY2(cleartext.err.contains("in clear"), cleartext.describe());
        QVERIFY2(kDeviceToken.match(cleartext.lastLine()).hasMatch(), cleartext.describe());
    }
};

QTEST_GUILESS_MAIN(ProvisionTest)
#include "tst_provision.moc"
