// tests/tools/stoa_process.h — run the real `stoa` binary and write test inputs.
// Invariant: every run waits for the process to finish (no sleeps) and keeps
// stdout and stderr apart, so tests can check where messages go.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTest>

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

inline bool writeBytes(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

inline QByteArray readBytes(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
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
