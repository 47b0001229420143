// tools/cli.h — conventions shared by the `stoa` subcommands.
//
// Job: exit codes, output to stdout / errors to stderr, option parsing with
// per-subcommand --help, and reading the files every subcommand reads (key
// files, envelope or site paths). Each run*() takes the subcommand's own
// arguments (args[0] is the program name) and returns the process exit code.
// Invariants: results go to stdout, diagnostics to stderr, prefixed "stoa:";
// exit codes are exactly those of docs/stoa-command.md.
#pragma once

#include "schedule/keys.h"
#include "publish/error.h"

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <optional>
#include <vector>

namespace stoa::cli {

enum ExitCode : int {
    kExitOk = 0,
    kExitInvalid = 1, // verification or validation failed
    kExitUsage = 2,   // bad command line
    kExitIo = 3,      // a file could not be read or written, or exists already
};

void printOut(const QString &text); // stdout, text as is
void printErr(const QString &text); // stderr, one line, "stoa: " prefixed

// Prints the error, returns its exit code.
int fail(const publish::Error &error);
// A usage error of subcommand `command`: message + hint, exit 2.
int usageError(const QString &command, const QString &message);

// A parser for `stoa <command>`. run() parses; nullopt means "go on", a
// value is the exit code to return at once (--help printed: 0; bad option: 2).
class Command {
public:
    Command(QString name, QString synopsis, QString description, QString epilog = {});
    QCommandLineParser &parser() { return m_parser; }
    std::optional<int> parse(const QStringList &args);
    QString helpText() const;
    const QString &name() const { return m_name; }

    // Typed getters for option values; each returns nullopt after printing a
    // usage error into `exitCode`.
    std::optional<std::int64_t> duration(const QString &option, int &exitCode);
    std::optional<std::int64_t> integer(const QString &option, std::int64_t minimum, int &exitCode);
    // The required option's value, or a usage error.
    std::optional<QString> required(const QString &option, int &exitCode);

private:
    QString m_name, m_synopsis, m_epilog;
    QCommandLineParser m_parser;
};

// ENVELOPE arguments may name a file or a SITE directory: then the device's
// choice: SITE/v1/devices/{id}/manifest.json when `deviceId` is given and
// that exists, else SITE/v1/manifest.json.
QString resolveEnvelopePath(const QString &argument, const std::optional<QString> &deviceId);

// Key files, with Rejection codes mapped to exit codes (Io -> 3, else 1).
std::optional<schedule::PrivateKey> loadPrivateKey(const QString &path, int &exitCode);
std::optional<std::vector<schedule::PublicKey>> loadPublicKeys(const QString &path, int &exitCode);

int runKeygen(const QStringList &args);
int runPublish(const QStringList &args);
int runKeys(const QStringList &args);
int runVerify(const QStringList &args);
int runInspect(const QStringList &args);
int runStatus(const QStringList &args);
int runDemo(const QStringList &args);
int runProvision(const QStringList &args);

// The top-level usage text (also the exit-code table).
QString mainHelp();

} // namespace stoa::cli
