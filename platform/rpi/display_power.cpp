// platform/rpi/display_power.cpp — the vcgencmd, cec and none methods and the
// factory (see display_power.h; drm is in display_power_drm.cpp).
#include "platform/rpi/display_power.h"

#include "platform/rpi/logging.h"

#include <QList>

namespace stoa::platform {

namespace {

QString firstLine(const QByteArray &text)
{
    const QByteArray t = text.trimmed();
    const qsizetype nl = t.indexOf('\n');
    return QString::fromUtf8(nl >= 0 ? t.first(nl) : t).trimmed();
}

// A tool's failure, told the same way for every method.
std::string exitError(const QString &method, const QString &command, const CommandResult &r)
{
    QString why = firstLine(r.stderrText);
    if (why.isEmpty())
        why = firstLine(r.stdoutText);
    return QStringLiteral("%1: %2 exited with %3%4")
        .arg(method, command)
        .arg(r.exitCode)
        .arg(why.isEmpty() ? QString() : QStringLiteral(": ") + why)
        .toStdString();
}

class NoDisplayPower final : public DisplayPower {
public:
    QString method() const override { return QStringLiteral("none"); }
    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        return DisplayPowerReport{on, method(), QStringLiteral("method none: the display was not switched")};
    }
};

class VcgencmdDisplayPower final : public DisplayPower {
public:
    VcgencmdDisplayPower(DisplayPowerOptions options, ToolRunner &runner)
        : m_options(std::move(options)), m_runner(runner)
    {
    }
    QString method() const override { return QStringLiteral("vcgencmd"); }

    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        QStringList args{QStringLiteral("display_power"), on ? QStringLiteral("1") : QStringLiteral("0")};
        if (m_options.vcgencmdDisplay)
            args << QString::number(*m_options.vcgencmdDisplay);
        const QString command = commandLine(QStringLiteral("vcgencmd"), args);
        auto result = m_runner.run(m_options.vcgencmdPath, args, m_options.timeout);
        if (!result)
            return std::unexpected("vcgencmd: " + result.error());
        if (result->exitCode != 0)
            return std::unexpected(exitError(method(), command, *result));
        // The firmware answers with the state it is in now.
        const QString answer = firstLine(result->stdoutText);
        const QString expected = QStringLiteral("display_power=") + (on ? QLatin1Char('1') : QLatin1Char('0'));
        if (answer != expected)
            return std::unexpected(QStringLiteral("vcgencmd: %1 answered '%2', expected '%3'")
                                       .arg(command, answer, expected)
                                       .toStdString());
        return DisplayPowerReport{on, method(), command + QStringLiteral(": ") + answer};
    }

private:
    DisplayPowerOptions m_options;
    ToolRunner &m_runner;
};

class CecDisplayPower final : public DisplayPower {
public:
    CecDisplayPower(DisplayPowerOptions options, ToolRunner &runner)
        : m_options(std::move(options)), m_runner(runner)
    {
    }
    QString method() const override { return QStringLiteral("cec"); }

    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        QStringList args;
        if (!m_options.cecDevice.isEmpty())
            args << QStringLiteral("-d") << m_options.cecDevice;
        args << QStringLiteral("--to") << QStringLiteral("0")
             << (on ? QStringLiteral("--image-view-on") : QStringLiteral("--standby"));
        const QString command = commandLine(QStringLiteral("cec-ctl"), args);
        auto result = m_runner.run(m_options.cecCtlPath, args, m_options.timeout);
        if (!result)
            return std::unexpected("cec: " + result.error());
        if (result->exitCode != 0)
            return std::unexpected(exitError(method(), command, *result));

        // cec-ctl prints the adapter's details, then per message a
        // "Transmit from ... to TV (4 to 0):" block whose "Tx, ..." status
        // line says whether the TV acknowledged. Exit status 0 is not enough.
        QStringList said;
        QString failure;
        for (const QByteArray &raw : result->stdoutText.split('\n')) {
            const QString line = QString::fromUtf8(raw).trimmed();
            if (line.startsWith(QLatin1String("Transmit from")))
                said << line;
            if (line.startsWith(QLatin1String("Tx,"))) {
                said << line;
                if (!line.startsWith(QLatin1String("Tx, OK")) && failure.isEmpty())
                    failure = line;
            }
        }
        if (!failure.isEmpty())
            return std::unexpected(
                QStringLiteral("cec: %1: the TV did not take it: %2").arg(command, failure).toStdString());
        if (said.isEmpty())
            said << firstLine(result->stdoutText);
        return DisplayPowerReport{on, method(), command + QStringLiteral(": ") + said.join(QStringLiteral("; "))};
    }

private:
    DisplayPowerOptions m_options;
    ToolRunner &m_runner;
};

} // namespace

QStringList displayPowerMethods()
{
    QStringList names;
    for (std::string_view n : settings::kDisplayPowerNames)
        names << QString::fromUtf8(n.data(), qsizetype(n.size()));
    return names;
}

std::unique_ptr<DisplayPower> makeDisplayPower(settings::DisplayPower method, DisplayPowerOptions options,
                                               ToolRunner &runner)
{
    switch (method) {
    case settings::DisplayPower::None: break;
    case settings::DisplayPower::Vcgencmd: return std::make_unique<VcgencmdDisplayPower>(std::move(options), runner);
    case settings::DisplayPower::Cec: return std::make_unique<CecDisplayPower>(std::move(options), runner);
    case settings::DisplayPower::Drm: return makeDrmDisplayPower(options);
    }
    return std::make_unique<NoDisplayPower>();
}

std::expected<std::unique_ptr<DisplayPower>, std::string>
makeDisplayPower(const QString &method, DisplayPowerOptions options, ToolRunner &runner)
{
    const auto known = settings::displayPowerFromName(method.toStdString());
    if (!known)
        return std::unexpected("unknown display power method '" + method.toStdString() + "' (one of: " +
                               displayPowerMethods().join(QStringLiteral(", ")).toStdString() + ")");
    return makeDisplayPower(*known, std::move(options), runner);
}

} // namespace stoa::platform
