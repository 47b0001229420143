// platform/rpi/health.cpp — see health.h.
#include "platform/rpi/health.h"

#include "platform/rpi/logging.h"
#include "platform/rpi/root_files.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QList>

#include <sys/statvfs.h>

namespace stoa::platform {

namespace {

const QString kThermal = QStringLiteral("/sys/class/thermal/thermal_zone0/temp");
const QString kGetThrottled = QStringLiteral("/sys/devices/platform/soc/soc:firmware/get_throttled");
const QString kMounts = QStringLiteral("/proc/mounts");

// /proc/mounts escapes space, tab, newline and backslash as \ooo octal.
QString unescapeMountField(QByteArrayView field)
{
    QByteArray out;
    out.reserve(field.size());
    for (qsizetype i = 0; i < field.size(); ++i) {
        const char c = field[i];
        if (c == '\\' && i + 3 < field.size()) {
            const QByteArrayView oct = field.sliced(i + 1, 3);
            bool ok = true;
            int value = 0;
            for (char d : oct) {
                if (d < '0' || d > '7') {
                    ok = false;
                    break;
                }
                value = value * 8 + (d - '0');
            }
            if (ok && value < 256) {
                out += static_cast<char>(value);
                i += 3;
                continue;
            }
        }
        out += c;
    }
    return QString::fromUtf8(out);
}

bool covers(const QString &mountPoint, const QString &path)
{
    if (mountPoint == QLatin1String("/"))
        return path.startsWith(QLatin1Char('/'));
    return path == mountPoint || path.startsWith(mountPoint + QLatin1Char('/'));
}

// The data dir's mount flags (statvfs f_flag): only for ST_RDONLY. Free
// space is read by cache::diskSpace, never here.
std::optional<unsigned long> mountFlags(const QString &dataDir)
{
    if (dataDir.isEmpty())
        return std::nullopt;
    struct statvfs st {};
    if (::statvfs(QFile::encodeName(dataDir).constData(), &st) != 0)
        return std::nullopt;
    return st.f_flag;
}

} // namespace

std::optional<double> parseMilliCelsius(QByteArrayView text)
{
    bool ok = false;
    const qlonglong milli = text.trimmed().toByteArray().toLongLong(&ok);
    if (!ok)
        return std::nullopt;
    return static_cast<double>(milli) / 1000.0;
}

std::optional<bool> mountIsReadOnly(QByteArrayView procMounts, const QString &path)
{
    // Later lines win on equal mount points: a remount or an over-mount
    // appears after what it replaces.
    std::optional<bool> readOnly;
    qsizetype bestLength = -1;
    for (const QByteArray &line : procMounts.toByteArray().split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() < 4)
            continue;
        const QString mountPoint = unescapeMountField(fields[1]);
        if (!covers(mountPoint, path) || mountPoint.size() < bestLength)
            continue;
        bestLength = mountPoint.size();
        readOnly = fields[3].split(',').contains("ro");
    }
    return readOnly;
}

PiHealthSource::PiHealthSource(PiHealthOptions options, ToolRunner &runner)
    : m_options(std::move(options)), m_runner(runner)
{
}

void applyThrottle(const ThrottleFlags &flags, schedule::DeviceHealth &health)
{
    // §5 throttled is "the ARM runs slower now": the firmware throttling or
    // capping its frequency. Under-voltage (which usually causes it) and the
    // soft temperature limit have their own fields and names.
    health.throttled = flags.throttled || flags.frequencyCapped;
    health.underVoltage = flags.underVoltage;
    health.problemSinceBoot = flags.anySinceBoot();
    health.conditions.clear();
    for (const QString &name : flags.names())
        health.conditions.push_back(name.toStdString());
}

schedule::DeviceHealth PiHealthSource::read()
{
    schedule::DeviceHealth health;
    health.cpuTempC = cpuTemperature();
    if (const auto flags = throttle())
        applyThrottle(*flags, health);
    health.readOnly = readOnly();
    return health;
}

std::optional<double> PiHealthSource::cpuTemperature() const
{
    const auto text = readRootFile(m_options.root, kThermal, 4096);
    return text ? parseMilliCelsius(*text) : std::nullopt;
}

std::optional<ThrottleFlags> PiHealthSource::throttle()
{
    if (const auto text = readRootFile(m_options.root, kGetThrottled, 4096)) {
        if (const auto raw = parseThrottled(*text))
            return decodeThrottled(*raw);
        qCDebug(lcPlatform, "cannot parse %s", qUtf8Printable(underRoot(m_options.root, kGetThrottled)));
    }
    if (m_options.vcgencmdPath.isEmpty())
        return std::nullopt;
    const auto result = m_runner.run(m_options.vcgencmdPath, {QStringLiteral("get_throttled")}, m_options.timeout);
    std::optional<std::uint32_t> raw;
    if (result && result->exitCode == 0)
        raw = parseThrottled(result->stdoutText);
    if (!raw) {
        // Once: on a machine without the tool this would repeat every heartbeat.
        if (!m_vcgencmdFailedLogged)
            qCInfo(lcPlatform, "throttling state unknown: %s",
                   !result ? result.error().c_str()
                           : (result->exitCode != 0 ? "vcgencmd get_throttled failed"
                                                    : "vcgencmd get_throttled gave unexpected output"));
        m_vcgencmdFailedLogged = true;
        return std::nullopt;
    }
    return decodeThrottled(*raw);
}

std::optional<bool> PiHealthSource::readOnly() const
{
    const auto flags = mountFlags(m_options.dataDir);
    if (flags && (*flags & ST_RDONLY))
        return true;
    std::optional<bool> fromMounts;
    if (!m_options.dataDir.isEmpty()) {
        if (const auto mounts = readRootFile(m_options.root, kMounts)) {
            const QString canonical = QFileInfo(m_options.dataDir).canonicalFilePath();
            fromMounts = mountIsReadOnly(*mounts, canonical.isEmpty() ? QDir::cleanPath(m_options.dataDir) : canonical);
        }
    }
    if (fromMounts)
        return fromMounts;
    if (flags)
        return false;
    return std::nullopt;
}

} // namespace stoa::platform
