// tests/platform/fake_root.h — a fake Pi file system in a QTemporaryDir.
//
// write("/proc/cpuinfo", ...) creates <tmp>/proc/cpuinfo, so the platform
// code, given root = path(), reads it where it would read the real one.
// tool(...) writes an executable shell script that stands in for vcgencmd or
// cec-ctl: it records its arguments one per line in <script>.argv and then
// runs the given body (which prints what the real tool prints).
#pragma once

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

class FakeRoot {
public:
    FakeRoot() { QVERIFY2(m_dir.isValid(), qPrintable(m_dir.errorString())); }

    QString path() const { return m_dir.path(); }
    QString file(const QString &absolutePath) const { return m_dir.path() + absolutePath; }

    bool write(const QString &absolutePath, const QByteArray &bytes) const
    {
        const QString target = file(absolutePath);
        if (!QDir().mkpath(QFileInfo(target).path()))
            return false;
        QFile f(target);
        return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
    }

    // An executable fake tool at <root>/bin/<name>; returns its path.
    QString tool(const QString &name, const QByteArray &body) const
    {
        const QString script = file(QStringLiteral("/bin/") + name);
        const QByteArray text = "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.argv\"\n" + body + "\n";
        if (!write(QStringLiteral("/bin/") + name, text))
            return {};
        QFile::setPermissions(script, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        return script;
    }

    // The arguments the fake tool at `script` was last called with.
    static QStringList argvOf(const QString &script)
    {
        QFile f(script + QStringLiteral(".argv"));
        if (!f.open(QIODevice::ReadOnly))
            return {};
        QStringList args = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'));
        if (!args.isEmpty() && args.last().isEmpty())
            args.removeLast();
        return args;
    }

private:
    QTemporaryDir m_dir;
};
