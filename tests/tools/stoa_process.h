// tests/tools/stoa_process.h — run the real `stoa` binary and make test inputs
// (their files written and read back with tests/harness/test_files.h).
// Invariant: every run waits for the process to finish (no sleeps, a
// deadline) and keeps stdout and stderr apart, so tests can check where
// messages go.
#pragma once

#include "program_run.h"
#include "test_files.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QTest>

using stoa::testing::readFile;
using stoa::testing::writeFile;

// The real `stoa` command run to its end (tests/harness/program_run.h),
// in the test's own environment.
using StoaRun = stoa::testing::ProgramRun;

inline StoaRun runStoa(const QStringList &args, const QString &workDir = {})
{
    return stoa::testing::runProgram(QStringLiteral(STOA_BIN), args,
                                     stoa::testing::RunOptions().timeout(120000).in(workDir).systemEnvironment());
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
