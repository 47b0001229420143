// platform/rpi/device_identity.h — this device's id (protocol §1: 1-64 of [A-Za-z0-9._-]).
//
// Order, first that yields a valid id wins:
//   1. the configured override (--device-id / stoa.conf): used as given when
//      valid, an error when not (never silently replaced by a detected id);
//   2. the board serial from the devicetree
//      (<root>/proc/device-tree/serial-number, then
//       <root>/sys/firmware/devicetree/base/serial-number; NUL-terminated);
//   3. the "Serial" line of <root>/proc/cpuinfo;
//   4. <root>/etc/machine-id, as it is (32 lowercase hex digits).
//
// Invariants:
//  - a board serial becomes "rpi-" + the serial in lowercase without leading
//    zeros ("10000000abcdef01" -> "rpi-10000000abcdef01",
//    "00000000abcdef01" -> "rpi-abcdef01"): the devicetree and cpuinfo give
//    the same id for the same board, it survives reboots and reinstalls (the
//    serial is burnt into the SoC, machine-id is not), and it is a valid id;
//  - an all-zero or non-alphanumeric serial is no serial (some kernels and
//    non-Pi boards report 0000000000000000);
//  - machine-id comes last and unchanged, so on a machine without a board
//    serial the id is the one sync/device_id.h resolved before this layer;
//  - the same override semantics as sync::resolveDeviceId (a superset of it).
#pragma once

#include <QByteArray>
#include <QString>

#include <expected>
#include <optional>
#include <string>

namespace stoa::platform {

enum class DeviceIdSource {
    Configured,       // the override given by flag or config
    DevicetreeSerial, // <root>/proc/device-tree/serial-number or the sysfs devicetree copy
    CpuinfoSerial,    // "Serial :" in <root>/proc/cpuinfo
    MachineId,        // <root>/etc/machine-id
};

// "configured", "devicetree", "cpuinfo", "machine-id": for logs and diagnostics.
QString deviceIdSourceName(DeviceIdSource source);

struct DeviceIdentity {
    std::string id;        // valid per schedule::isDeviceId
    DeviceIdSource source; // where it came from
    QString file;          // the file it was read from; empty for Configured
};

// The id for a raw board serial ("10000000abcdef01\0" or "10000000ABCDEF01"),
// or nullopt when it is not a usable serial (empty, all zeros, not [A-Za-z0-9]).
std::optional<std::string> deviceIdFromSerial(QByteArrayView rawSerial);

// The "Serial" field's value in /proc/cpuinfo text, if the text has one.
std::optional<QByteArray> cpuinfoSerial(QByteArrayView cpuinfo);

// configuredOverride: empty means "detect". root: "/" in production.
std::expected<DeviceIdentity, std::string> resolveDeviceId(const std::string &configuredOverride,
                                                           const QString &root = QStringLiteral("/"));

} // namespace stoa::platform
