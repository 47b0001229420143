// settings/stoa_conf.cpp — see stoa_conf.h.
#include "settings/stoa_conf.h"

#include "settings/logging.h"

#include <QFile>

#include <cstdlib>

namespace stoa::settings {

namespace {

SettingsError badValue(const Key &k, std::string_view value, std::string expected)
{
    return {{}, 0, std::string(k.name), "bad value for '" + std::string(k.name) + "': '" + std::string(value) + "'",
            std::move(expected)};
}

void logProblem(const SettingsError &e)
{
    if (e.expected.empty())
        qCWarning(lcSettings, "%s", e.text().c_str());
    else
        qCWarning(lcSettings, "%s (expected %s)", e.text().c_str(), e.expected.c_str());
}

std::string cell(std::string_view text)
{
    std::string out;
    for (char c : text)
        out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

} // namespace

std::string SettingsError::text() const
{
    std::string where = file;
    if (line > 0)
        where += ":" + std::to_string(line);
    return where.empty() ? message : where + ": " + message;
}

std::vector<SettingsError> readFile(const QString &path, Settings &into, Mode mode, IfMissing ifMissing)
{
    std::vector<SettingsError> problems;
    const std::string file = path.toStdString();
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (ifMissing == IfMissing::Skip && !f.exists())
            return problems;
        problems.push_back({file, 0, {}, "cannot read: " + f.errorString().toStdString(), {}});
        logProblem(problems.back());
        return problems;
    }
    int lineNo = 0;
    while (!f.atEnd() && !(mode == Mode::Strict && !problems.empty())) {
        ++lineNo;
        QString line = QString::fromUtf8(f.readLine());
        if (const auto hash = line.indexOf(u'#'); hash >= 0)
            line.truncate(hash);
        line = line.trimmed();
        if (line.isEmpty())
            continue;
        const auto eq = line.indexOf(u'=');
        if (eq <= 0) {
            problems.push_back({file, lineNo, {}, "expected 'key = value'", {}});
            logProblem(problems.back());
            continue;
        }
        const std::string keyName = line.left(eq).trimmed().toStdString();
        const std::string value = line.mid(eq + 1).trimmed().toStdString();
        const Key *k = findKey(keyName);
        SettingsError e;
        if (!k) {
            e = {{}, 0, keyName, "unknown key '" + keyName + "'", {}};
        } else if (auto ok = assign(*k, value, into); !ok) {
            e = badValue(*k, value, ok.error());
        } else {
            continue;
        }
        e.file = file;
        e.line = lineNo;
        problems.push_back(std::move(e));
        logProblem(problems.back());
    }
    return problems;
}

std::expected<void, SettingsError> setValue(Settings &into, std::string_view keyName, std::string_view value)
{
    const Key *k = findKey(keyName);
    if (!k)
        return std::unexpected(SettingsError{{}, 0, std::string(keyName), "unknown config key '" + std::string(keyName) + "'", {}});
    if (auto ok = assign(*k, value, into); !ok) {
        auto e = badValue(*k, value, ok.error());
        logProblem(e);
        return std::unexpected(std::move(e));
    }
    return {};
}

std::expected<void, SettingsError> checkTogether(const Settings &s)
{
    if (s.backoffCap < s.backoffBase) {
        SettingsError e;
        e.key = key::backoffCap;
        e.message.append(key::backoffCap).append(" is below ").append(key::backoffBase);
        return std::unexpected(std::move(e));
    }
    return {};
}

std::string markdownKeyTable()
{
    std::string t = "| key | read by | type | default | meaning |\n|---|---|---|---|---|\n";
    for (const Key &k : keys())
        t += "| `" + std::string(k.name) + "` | " + std::string(readerName(k.reader)) + " | " + cell(typeName(k)) + " | " +
             (k.defaultText.empty() ? std::string("(empty)") : "`" + std::string(k.defaultText) + "`") + " | " +
             cell(k.description) + " |\n";
    return t;
}

std::string keyNames(Reader reader)
{
    std::string names;
    for (const Key &k : keys())
        if (k.reader == reader || k.reader == Reader::Both || reader == Reader::Both)
            names += (names.empty() ? "" : " ") + std::string(k.name);
    return names;
}

} // namespace stoa::settings
