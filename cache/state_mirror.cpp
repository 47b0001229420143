#include "cache/state_mirror.h"

#include "cache/logging.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stoa::cache {

namespace fs = std::filesystem;

namespace {

// Generous: a keys document is a few KiB; the spool is read record by record.
constexpr std::size_t kMaxValueBytes = 1 << 20;
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;

std::span<const std::byte> bytesOf(const std::string &s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string compact(const QJsonObject &o) { return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString(); }
std::string compact(const QJsonArray &a) { return QJsonDocument(a).toJson(QJsonDocument::Compact).toStdString(); }

QJsonArray idArray(const std::vector<std::string> &ids)
{
    QJsonArray a;
    for (const auto &id : ids)
        a.append(QString::fromStdString(id));
    return a;
}

// Calls `line` for each complete line of `file` ('\n'-terminated); a missing
// file has none. A torn last line (a crash mid-append) is counted in `torn`.
Result<void> eachLine(const fs::path &file, const std::function<void(std::string_view)> &line, std::int64_t &torn)
{
    auto text = readWholeFile(file, kMaxFileBytes);
    if (!text) {
        if (text.error().code == ErrorCode::NotFound)
            return {};
        return std::unexpected(text.error());
    }
    std::string_view rest(*text);
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        if (eol == std::string_view::npos) {
            ++torn;
            break;
        }
        if (eol > 0)
            line(rest.substr(0, eol));
        rest.remove_prefix(eol + 1);
    }
    return {};
}

} // namespace

bool isMirroredMaxKey(const std::string &key)
{
    return std::ranges::any_of(kMirroredMaxKeys, [&](const char *k) { return key == k; });
}

bool isMirroredValueKey(const std::string &key)
{
    return std::ranges::any_of(kMirroredValueKeys, [&](const char *k) { return key == k; });
}

std::string playToJson(const PlayRecord &r)
{
    QJsonObject o;
    o["id"] = QString::fromStdString(r.id);
    if (r.asset)
        o["asset"] = QString::fromStdString(*r.asset);
    if (r.url)
        o["url"] = QString::fromStdString(*r.url);
    o["playlist"] = QString::fromStdString(r.playlist);
    o["started_at"] = QString::fromStdString(r.startedAt);
    o["duration_ms"] = qint64(r.durationMs);
    o["completed"] = r.completed;
    if (r.reason)
        o["reason"] = QString::fromStdString(*r.reason);
    if (r.layout)
        o["layout"] = QString::fromStdString(*r.layout);
    if (r.region)
        o["region"] = QString::fromStdString(*r.region);
    return compact(QJsonObject{{"r", o}});
}

std::optional<PlayRecord> playFromJson(const std::string &line)
{
    const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(line));
    const auto o = doc.object().value("r").toObject();
    if (!o.value("id").isString() || !o.value("playlist").isString() || !o.value("started_at").isString())
        return std::nullopt;
    auto text = [&](const char *k) -> std::optional<std::string> {
        const auto v = o.value(k);
        return v.isString() ? std::optional(v.toString().toStdString()) : std::nullopt;
    };
    PlayRecord r;
    r.id = o.value("id").toString().toStdString();
    r.asset = text("asset");
    r.url = text("url");
    r.playlist = o.value("playlist").toString().toStdString();
    r.startedAt = o.value("started_at").toString().toStdString();
    r.durationMs = o.value("duration_ms").toInteger();
    r.completed = o.value("completed").toBool();
    r.reason = text("reason");
    r.layout = text("layout");
    r.region = text("region");
    return r;
}

StateMirror::StateMirror(fs::path dataDir) : m_dir(std::move(dataDir) / "state") {}

StateMirror::Lock::Lock(UniqueFd fd, const StateMirror *owner) : m_fd(std::move(fd)), m_owner(owner)
{
    ++m_owner->m_lockDepth;
}

StateMirror::Lock::~Lock()
{
    if (m_owner)
        --m_owner->m_lockDepth;
}

Result<void> StateMirror::ensureDir() const
{
    if (auto ok = ensureDirectory(m_dir / "kv"); !ok)
        return ok;
    return {};
}

Result<StateMirror::Lock> StateMirror::lock() const
{
    if (m_lockDepth > 0)
        return Lock(UniqueFd(), this); // this object holds it already
    if (auto ok = ensureDir(); !ok)
        return std::unexpected(ok.error());
    const fs::path path = m_dir / "lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid())
        return std::unexpected(osError("open " + path.string(), errno));
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR)
            return std::unexpected(osError("lock " + path.string(), errno));
    }
    return Lock(std::move(fd), this);
}

Result<void> StateMirror::append(const fs::path &file, const std::string &lines)
{
    auto held = lock();
    if (!held)
        return std::unexpected(held.error());
    struct stat st{};
    const bool existed = ::stat(file.c_str(), &st) == 0;
    UniqueFd fd(::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid())
        return std::unexpected(osError("open " + file.string(), errno));
    std::string out;
    if (existed && st.st_size > 0) {
        // A crash mid-append left no newline: end that torn line first.
        char last = '\n';
        if (::pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n')
            out += '\n';
    }
    out += lines;
    if (auto ok = writeAll(fd.get(), bytesOf(out), file.string()); !ok)
        return ok;
    if (::fdatasync(fd.get()) != 0)
        return std::unexpected(osError("fdatasync " + file.string(), errno));
    if (!existed)
        return fsyncDirectory(m_dir);
    return {};
}

Result<void> StateMirror::raiseInt(const std::string &key, std::int64_t value)
{
    auto held = lock();
    if (!held)
        return std::unexpected(held.error());
    auto current = readInt(key);
    if (current && *current && **current >= value)
        return {};
    // An unreadable mirror (bad bytes) is replaced: the database has the value.
    const std::string text = std::to_string(value) + "\n";
    return writeFileAtomically(m_dir / "kv" / key, bytesOf(text));
}

Result<std::optional<std::int64_t>> StateMirror::readInt(const std::string &key) const
{
    auto text = readValue(key);
    if (!text || !*text)
        return text ? Result<std::optional<std::int64_t>>(std::nullopt) : std::unexpected(text.error());
    std::string_view s(**text);
    if (s.ends_with('\n'))
        s.remove_suffix(1);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        return fail(ErrorCode::Corrupt, (m_dir / "kv" / key).string() + " is not a number");
    return std::optional(v);
}

Result<void> StateMirror::setValue(const std::string &key, const std::string &value)
{
    auto held = lock();
    if (!held)
        return std::unexpected(held.error());
    return writeFileAtomically(m_dir / "kv" / key, bytesOf(value));
}

Result<std::optional<std::string>> StateMirror::readValue(const std::string &key) const
{
    auto text = readWholeFile(m_dir / "kv" / key, kMaxValueBytes);
    if (!text) {
        if (text.error().code == ErrorCode::NotFound)
            return std::optional<std::string>();
        return std::unexpected(text.error());
    }
    return std::optional(std::move(*text));
}

Result<void> StateMirror::appendCommands(const std::vector<std::string> &ids)
{
    if (ids.empty())
        return {};
    std::string lines;
    for (const auto &id : ids)
        lines += compact(idArray({id})) + "\n";
    return append(m_dir / "commands", lines);
}

Result<std::set<std::string>> StateMirror::commandIds() const
{
    std::set<std::string> out;
    std::int64_t torn = 0;
    auto ok = eachLine(m_dir / "commands", [&](std::string_view line) {
        const auto a = QJsonDocument::fromJson(QByteArray(line.data(), qsizetype(line.size()))).array();
        if (a.size() == 1 && a.at(0).isString())
            out.insert(a.at(0).toString().toStdString());
    }, torn);
    if (!ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> StateMirror::spoolPlay(const PlayRecord &r) { return append(m_dir / "plays.spool", playToJson(r) + "\n"); }

Result<void> StateMirror::spoolAck(const std::vector<std::string> &ids)
{
    if (ids.empty())
        return {};
    return append(m_dir / "plays.spool", compact(QJsonObject{{"ack", idArray(ids)}}) + "\n");
}

Result<SpoolContents> StateMirror::readSpool() const
{
    std::vector<PlayRecord> records;
    std::set<std::string> acked;
    SpoolContents out;
    auto ok = eachLine(m_dir / "plays.spool", [&](std::string_view line) {
        const std::string s(line);
        if (auto r = playFromJson(s)) {
            records.push_back(std::move(*r));
            return;
        }
        ++out.deadLines;
        const auto ack = QJsonDocument::fromJson(QByteArray::fromStdString(s)).object().value("ack").toArray();
        for (const auto &id : ack)
            acked.insert(id.toString().toStdString());
    }, out.deadLines);
    if (!ok)
        return std::unexpected(ok.error());
    std::set<std::string> seen;
    for (auto &r : records) {
        if (acked.contains(r.id) || !seen.insert(r.id).second) {
            ++out.deadLines;
            continue;
        }
        out.live.push_back(std::move(r));
    }
    return out;
}

Result<void> StateMirror::rewriteSpool(const std::vector<PlayRecord> &live)
{
    auto held = lock();
    if (!held)
        return std::unexpected(held.error());
    std::string text;
    for (const auto &r : live)
        text += playToJson(r) + "\n";
    return writeFileAtomically(m_dir / "plays.spool", bytesOf(text));
}

std::int64_t StateMirror::spoolBytes() const
{
    struct stat st{};
    return ::stat((m_dir / "plays.spool").c_str(), &st) == 0 ? std::int64_t(st.st_size) : 0;
}

} // namespace stoa::cache
