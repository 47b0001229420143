// endpoints/log_format.cpp — see log_format.h.
#include "endpoints/log_format.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QtGlobal>

#include <cstdio>
#include <cstdlib>

namespace stoa::endpoints {

namespace {

// syslog priorities (sd-daemon.h's SD_ERR etc.) and our level words.
struct Level {
    int priority;
    const char *word;
};

Level levelOf(int type)
{
    switch (QtMsgType(type)) {
    case QtDebugMsg: return {7, "debug"};
    case QtInfoMsg: return {6, "info"};
    case QtWarningMsg: return {4, "warning"};
    case QtCriticalMsg: return {3, "error"};
    case QtFatalMsg: return {2, "fatal"};
    }
    return {6, "info"};
}

// Qt takes a plain function pointer: one handler per form, no shared state.
template <bool Journal>
void handler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const QByteArray line = formatLogLine(int(type), context.category, message, Journal).toUtf8();
    std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
    std::fflush(stderr);
    if (type == QtFatalMsg)
        std::abort();
}

} // namespace

QString formatLogLine(int level, const char *category, const QString &message, bool journal)
{
    const Level l = levelOf(level);
    QString text = message;
    text.replace(QLatin1Char('\n'), QLatin1String(" | "));
    const QString cat = QString::fromUtf8(category && *category ? category : "default");
    if (journal)
        return QStringLiteral("<%1>%2 %3: %4\n").arg(l.priority).arg(QLatin1String(l.word), cat, text);
    return QStringLiteral("%1 %2 %3: %4\n")
        .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs), QLatin1String(l.word), cat, text);
}

void installLogFormat()
{
    qInstallMessageHandler(qEnvironmentVariableIsSet("JOURNAL_STREAM") ? &handler<true> : &handler<false>);
    // Debug lines are for debugging: QT_LOGGING_RULES="stoa.*.debug=true" turns them on.
    if (!qEnvironmentVariableIsSet("QT_LOGGING_RULES"))
        QLoggingCategory::setFilterRules(QStringLiteral("*.debug=false"));
}

} // namespace stoa::endpoints
