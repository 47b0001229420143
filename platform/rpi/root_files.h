// platform/rpi/root_files.h — reading small kernel and system files under a root.
//
// Every Pi implementation names its files by their absolute path on a real
// system ("/proc/cpuinfo") and reads them under a configurable root
// directory, "/" in production and a QTemporaryDir tree in tests, so the
// tests run the real parsing code on fake sysfs/procfs/devicetree content.
//
// Invariants: a missing or unreadable file is std::nullopt (on a machine that
// is not a Pi most of these files do not exist, which is "unknown", not an
// error); reads are bounded (sysfs files claim 4096 bytes whatever they hold,
// procfs files claim 0, so the size is never trusted).
#pragma once

#include <QByteArray>
#include <QString>

#include <optional>

namespace stoa::platform {

// "/" in production.
inline const QString kDefaultRoot = QStringLiteral("/");

// absolutePath ("/proc/cpuinfo") as seen under root ("/tmp/x" -> "/tmp/x/proc/cpuinfo").
QString underRoot(const QString &root, const QString &absolutePath);

// The file's bytes (at most maxBytes), or nullopt when it cannot be opened/read.
std::optional<QByteArray> readRootFile(const QString &root, const QString &absolutePath,
                                       qint64 maxBytes = 256 * 1024);

} // namespace stoa::platform
