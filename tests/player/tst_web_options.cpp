// tests/player/tst_web_options.cpp — the player's `web` key and --web flag
// (player/options.h), offscreen: values from a real config file and the
// command line, the flag winning, a bad value reported with file and line.
#include "player/options.h"
#include "player/playback.h"

#include <QTemporaryDir>
#include <QTest>

using namespace stoa::player;

class WebOptionsTest : public QObject {
    Q_OBJECT
private slots:
    void values_data();
    void values();
    void defaultFollowsTheBuild();
};

void WebOptionsTest::values_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<bool>("web");
    QTest::addColumn<QString>("error"); // configError, or the fatal flag error
    QTest::addRow("default") << QByteArray() << QStringList{} << true << QString();
    QTest::addRow("file off") << QByteArray("web = off\n") << QStringList{} << false << QString();
    QTest::addRow("file on") << QByteArray("web = on\n") << QStringList{} << true << QString();
    QTest::addRow("flag wins") << QByteArray("web = off\n") << QStringList{"--web", "on"} << true << QString();
    QTest::addRow("flag off") << QByteArray() << QStringList{"--web", "off"} << false << QString();
    QTest::addRow("bad in file") << QByteArray("rotation = 90\nweb = yes\n") << QStringList{} << true
                                 << QStringLiteral("stoa.conf:2: bad value for 'web': 'yes'");
    QTest::addRow("bad flag") << QByteArray() << QStringList{"--web", "1"} << true
                              << QStringLiteral("bad value for --web: '1'");
}

void WebOptionsTest::values()
{
    QFETCH(QByteArray, file);
    QFETCH(QStringList, flags);
    QFETCH(bool, web);
    QFETCH(QString, error);
    QTemporaryDir dir;
    const QString conf = dir.filePath("stoa.conf");
    QFile f(conf);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(file);
    f.close();
    const auto parsed = parsePlayerOptions(QStringList{"stoa-player", "--config", conf} + flags);
    if (!parsed) {
        QVERIFY2(!error.isEmpty(), parsed.error().message.c_str());
        QCOMPARE(QString::fromStdString(parsed.error().message), error);
        return;
    }
    QCOMPARE(parsed->web, web);
    if (error.isEmpty())
        QCOMPARE(parsed->configError, std::string());
    else
        QVERIFY2(QString::fromStdString(parsed->configError).endsWith(error), parsed->configError.c_str());
}

void WebOptionsTest::defaultFollowsTheBuild()
{
    QCOMPARE(PlaybackConfig{}.web, kWebBuiltIn);
#ifdef STOA_WEBENGINE
    QVERIFY(kWebBuiltIn);
#else
    QVERIFY(!kWebBuiltIn);
#endif
}

QTEST_GUILESS_MAIN(WebOptionsTest)
#include "tst_web_options.moc"
