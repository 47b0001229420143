// tests/harness/test_files.h — putting a test's input file in place, and
// reading back a file the code under test wrote.
//
// writeFile creates the parent directories and writes all of `bytes`
// (replacing what was there), or ends the test binary (qFatal): a test
// cannot go on without its input, and a check further on would fail for the
// wrong reason. readFile gives the whole file, or nothing when it cannot be
// read: the caller compares, and an absent file fails the comparison.
// Paths as Qt or the standard library names them, the same files.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>

#include <filesystem>

namespace stoa::testing {

inline void writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
}

inline void writeFile(const std::filesystem::path &path, const QByteArray &bytes)
{
    writeFile(QString::fromStdString(path.string()), bytes);
}

inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline QByteArray readFile(const std::filesystem::path &path)
{
    return readFile(QString::fromStdString(path.string()));
}

} // namespace stoa::testing
