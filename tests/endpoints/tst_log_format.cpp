// tests/endpoints/tst_log_format.cpp — one event, one line, with its level
// where journald and people look for it.
#include "endpoints/log_format.h"

#include <QRegularExpression>
#include <QTest>

using stoa::endpoints::formatLogLine;

class TestLogFormat : public QObject {
    Q_OBJECT
private slots:
    void journalLinesCarryThePriority_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<QString>("prefix");
        QTest::newRow("debug") << int(QtDebugMsg) << "<7>debug ";
        QTest::newRow("info") << int(QtInfoMsg) << "<6>info ";
        QTest::newRow("warning") << int(QtWarningMsg) << "<4>warning ";
        QTest::newRow("critical") << int(QtCriticalMsg) << "<3>error ";
    }
    void journalLinesCarryThePriority()
    {
        QFETCH(int, type);
        QFETCH(QString, prefix);
        const QString line = formatLogLine(type, "stoa.sync", "manifest poll failed", true);
        QCOMPARE(line, prefix + "stoa.sync: manifest poll failed\n");
    }

    void terminalLinesStartWithTheTime()
    {
        const QString line = formatLogLine(QtWarningMsg, "stoa.player", "skipped", false);
        QVERIFY2(QRegularExpression(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warning stoa\.player: skipped\n$)")
                     .match(line)
                     .hasMatch(),
                 qPrintable(line));
    }

    void oneEventIsOneLine()
    {
        const QString line = formatLogLine(QtInfoMsg, nullptr, "first\nsecond\nthird", true);
        QCOMPARE(line.count('\n'), 1);
        QCOMPARE(line, QString("<6>info default: first | second | third\n"));
    }
};

QTEST_GUILESS_MAIN(TestLogFormat)
#include "tst_log_format.moc"
