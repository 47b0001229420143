// platform/rpi/display_power_drm.cpp — the "drm" method: the player's DPMS
// switch, confirmed from the connector's sysfs state (see display_power.h).
//
// Invariants: without an injected switch nothing is attempted (an error says
// why: only the DRM master may set DPMS); the sysfs read-back can only turn a
// success into an error when it clearly contradicts the request; a missing
// connector leaves the switch's success unconfirmed, and the report says so.
#include "platform/rpi/display_power.h"

#include "platform/rpi/logging.h"
#include "platform/rpi/root_files.h"

#include <QDir>
#include <QRegularExpression>

namespace stoa::platform {

namespace {

const QString kDrmClass = QStringLiteral("/sys/class/drm");

QString readText(const QString &root, const QString &absolutePath)
{
    const auto bytes = readRootFile(root, absolutePath, 4096);
    return bytes ? QString::fromUtf8(bytes->trimmed()) : QString();
}

DrmConnectorState readConnector(const QString &root, const QString &entry)
{
    const QString base = kDrmClass + QLatin1Char('/') + entry + QLatin1Char('/');
    return DrmConnectorState{entry, readText(root, base + QStringLiteral("status")),
                             readText(root, base + QStringLiteral("dpms")),
                             readText(root, base + QStringLiteral("enabled"))};
}

QString describe(const DrmConnectorState &c)
{
    return QStringLiteral("%1 dpms=%2 status=%3")
        .arg(c.name, c.dpms.isEmpty() ? QStringLiteral("?") : c.dpms,
             c.status.isEmpty() ? QStringLiteral("?") : c.status);
}

class DrmDisplayPower final : public DisplayPower {
public:
    explicit DrmDisplayPower(DisplayPowerOptions options) : m_options(std::move(options)) {}
    QString method() const override { return QStringLiteral("drm"); }

    std::expected<DisplayPowerReport, std::string> setPower(bool on) override
    {
        if (!m_options.drmSwitch)
            return std::unexpected(std::string(
                "drm: no KMS switch: DPMS can only be set by the process holding the DRM master "
                "(the player under eglfs); use method vcgencmd or cec elsewhere"));
        try {
            if (auto switched = m_options.drmSwitch(on); !switched)
                return std::unexpected("drm: switching DPMS " + std::string(on ? "on" : "off") +
                                       " failed: " + switched.error());
        } catch (const std::exception &e) {
            return std::unexpected(std::string("drm: the DPMS switch threw: ") + e.what());
        } catch (...) {
            return std::unexpected(std::string("drm: the DPMS switch threw"));
        }

        const auto connector = findDrmConnector(m_options.root, m_options.drmConnector);
        const QString asked = on ? QStringLiteral("On") : QStringLiteral("Off");
        if (!connector)
            return DisplayPowerReport{on, method(),
                                      QStringLiteral("drm DPMS %1: switched, not confirmed (no %2connector under %3)")
                                          .arg(asked,
                                               m_options.drmConnector.isEmpty()
                                                   ? QStringLiteral("connected ")
                                                   : m_options.drmConnector + QLatin1Char(' '),
                                               underRoot(m_options.root, kDrmClass))};
        // "Standby" and "Suspend" are off as far as a viewer is concerned.
        const bool readOn = connector->dpms == QLatin1String("On");
        if (!connector->dpms.isEmpty() && readOn != on)
            return std::unexpected(QStringLiteral("drm: asked for DPMS %1, but the connector reports %2")
                                       .arg(asked, describe(*connector))
                                       .toStdString());
        return DisplayPowerReport{on, method(), QStringLiteral("drm DPMS %1: %2").arg(asked, describe(*connector))};
    }

private:
    DisplayPowerOptions m_options;
};

} // namespace

std::unique_ptr<DisplayPower> makeDrmDisplayPower(const DisplayPowerOptions &options)
{
    return std::make_unique<DrmDisplayPower>(options);
}

std::optional<DrmConnectorState> findDrmConnector(const QString &root, const QString &name)
{
    // Connector entries are "card<N>-<connector>"; "card1", "renderD128",
    // "version" are not connectors.
    static const QRegularExpression entryPattern(QStringLiteral("^card[0-9]+-(.+)$"));
    QDir dir(underRoot(root, kDrmClass));
    QStringList entries = dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::System, QDir::Name);
    for (const QString &entry : entries) {
        const auto match = entryPattern.match(entry);
        if (!match.hasMatch())
            continue;
        if (!name.isEmpty()) {
            if (match.captured(1) == name)
                return readConnector(root, entry);
            continue;
        }
        DrmConnectorState state = readConnector(root, entry);
        if (state.status == QLatin1String("connected"))
            return state;
    }
    return std::nullopt;
}

} // namespace stoa::platform
