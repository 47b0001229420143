// tests/tools/stoa_process.h — run the real `stoa` binary and make test inputs
// (their files written and read back with tests/harness/test_files.h).
// Invariant: every run waits for the process to finish (no sleeps) and keeps
// stdout and stderr apart, so tests can check where messages go.
#pragma once

#include "test_files.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTest>

using stoa::testing::readFile;
using stoa::testing::writeFile;

struct StoaRun {
    int exitCode = -1;
    QString out;
    QString err;
};

inline StoaRun runStoa(const QStringList &args, const QString &workDir = {})
{
    QProcess p;
    if (!workDir.isEmpty()) p.setWorkingDirectory(workDir);
    p.start(QStringLiteral(STOA_BIN), args);
    StoaRun r;
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit) {
        r.err = QStringLiteral("stoa did not finish normally: ") + p.errorString();
        return r;
    }
    r.exitCode = p.exitCode();
    r.out = QString::fromLocal8Bit(p.readAllStandardOutput());
    r.err = QString::fromLocal8Bit(p.readAllStandardError());
    return r;
}

// Distinct "media" bytes: stoa never decodes media, it hashes and copies them.
inline QByteArray fakeMedia(const QByteArray &seed, int size)
{
    QByteArray out;
    out.reserve(size);
    while (out.size() < size) out += seed + QByteArray::number(out.size());
    out.truncate(size);
    return out;
}
