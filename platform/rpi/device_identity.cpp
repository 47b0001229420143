// platform/rpi/device_identity.cpp — see device_identity.h.
#include "platform/rpi/device_identity.h"

#include "platform/rpi/logging.h"
#include "platform/rpi/root_files.h"
#include "schedule/identifiers.h"

#include <QList>

namespace stoa::platform {

namespace {

bool valid(const std::string &id) { return schedule::isDeviceId(QString::fromStdString(id)); }

bool isAsciiAlnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const QString kDevicetreeSerialFiles[] = {
    QStringLiteral("/proc/device-tree/serial-number"),
    QStringLiteral("/sys/firmware/devicetree/base/serial-number"),
};
const QString kCpuinfo = QStringLiteral("/proc/cpuinfo");
const QString kMachineId = QStringLiteral("/etc/machine-id");

} // namespace

QString deviceIdSourceName(DeviceIdSource source)
{
    switch (source) {
    case DeviceIdSource::Configured:
        return QStringLiteral("configured");
    case DeviceIdSource::DevicetreeSerial:
        return QStringLiteral("devicetree");
    case DeviceIdSource::CpuinfoSerial:
        return QStringLiteral("cpuinfo");
    case DeviceIdSource::MachineId:
        return QStringLiteral("machine-id");
    }
    return QStringLiteral("unknown");
}

std::optional<std::string> deviceIdFromSerial(QByteArrayView rawSerial)
{
    // Devicetree strings end in NUL; cpuinfo lines may carry spaces.
    const qsizetype nul = rawSerial.indexOf('\0');
    QByteArrayView serial = (nul >= 0 ? rawSerial.first(nul) : rawSerial).trimmed();
    if (serial.isEmpty())
        return std::nullopt;
    for (char c : serial)
        if (!isAsciiAlnum(c))
            return std::nullopt;
    while (!serial.isEmpty() && serial.front() == '0')
        serial = serial.sliced(1);
    if (serial.isEmpty()) // all zeros: the kernel had no serial to give
        return std::nullopt;
    std::string id = "rpi-" + serial.toByteArray().toLower().toStdString();
    if (!valid(id))
        return std::nullopt; // longer than an id may be
    return id;
}

std::optional<QByteArray> cpuinfoSerial(QByteArrayView cpuinfo)
{
    const QList<QByteArray> lines = cpuinfo.toByteArray().split('\n');
    for (const QByteArray &line : lines) {
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            continue;
        if (line.first(colon).trimmed() == "Serial")
            return line.mid(colon + 1).trimmed();
    }
    return std::nullopt;
}

std::expected<DeviceIdentity, std::string> resolveDeviceId(const std::string &configuredOverride,
                                                           const QString &root)
{
    if (!configuredOverride.empty()) {
        if (!valid(configuredOverride))
            return std::unexpected("device id '" + configuredOverride +
                                   "' is not 1-64 characters of [A-Za-z0-9._-]");
        return DeviceIdentity{configuredOverride, DeviceIdSource::Configured, {}};
    }

    for (const QString &file : kDevicetreeSerialFiles) {
        if (const auto raw = readRootFile(root, file, 4096)) {
            if (auto id = deviceIdFromSerial(*raw))
                return DeviceIdentity{std::move(*id), DeviceIdSource::DevicetreeSerial, underRoot(root, file)};
            qCDebug(lcPlatform, "%s holds no usable serial", qUtf8Printable(underRoot(root, file)));
        }
    }

    if (const auto text = readRootFile(root, kCpuinfo)) {
        if (const auto serial = cpuinfoSerial(*text)) {
            if (auto id = deviceIdFromSerial(*serial))
                return DeviceIdentity{std::move(*id), DeviceIdSource::CpuinfoSerial, underRoot(root, kCpuinfo)};
            qCDebug(lcPlatform, "the Serial in %s is not usable", qUtf8Printable(underRoot(root, kCpuinfo)));
        }
    }

    if (const auto raw = readRootFile(root, kMachineId, 4096)) {
        const qsizetype nl = raw->indexOf('\n');
        const std::string id = (nl >= 0 ? raw->first(nl) : *raw).trimmed().toStdString();
        // "uninitialized" is systemd's first-boot placeholder: it passes the
        // character check but would give every fresh image the same id.
        if (valid(id) && id != "uninitialized")
            return DeviceIdentity{id, DeviceIdSource::MachineId, underRoot(root, kMachineId)};
    }

    return std::unexpected("no device id: give --device-id (or device_id in the config); found no board serial in " +
                           underRoot(root, kDevicetreeSerialFiles[0]).toStdString() + " or " +
                           underRoot(root, kCpuinfo).toStdString() + " and no id in " +
                           underRoot(root, kMachineId).toStdString());
}

} // namespace stoa::platform
