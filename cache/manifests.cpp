#include "cache/manifests.h"

#include "cache/durable.h"
#include "cache/kv.h"
#include "cache/logging.h"
#include "cache/row_clock.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <charconv>

namespace stoa::cache {

namespace {

constexpr const char *kFloorKey = "rollback_floor";
constexpr const char *kFloorResetKey = "rollback_floor.reset_keys_version";
constexpr const char *kResetLinePrefix = "reset_by_keys_version ";
constexpr const char *kGenerationKey = "active_generation";
constexpr std::size_t kMaxMirrorBytes = 16u << 20; // envelopes are capped at 4 MiB by the protocol

const char *slotName(Slot s) { return s == Slot::Active ? "active" : "staged"; }

} // namespace

ManifestStore::ManifestStore(std::filesystem::path dataDir, Database &db) : m_dataDir(std::move(dataDir)), m_db(db) {}

Result<std::optional<StoredManifest>> ManifestStore::get(Slot slot)
{
    auto st = m_db.prepare("SELECT version, envelope FROM manifests WHERE slot = ?");
    if (!st)
        return std::unexpected(st.error());
    auto s = st->bind(1, std::string_view(slotName(slot))).step();
    if (!s)
        return std::unexpected(s.error());
    if (*s != Statement::Step::Row)
        return std::optional<StoredManifest>();
    StoredManifest m;
    m.version = st->columnInt(0);
    m.envelope = st->columnBlob(1);
    auto pins = m_db.prepare("SELECT hex FROM pins WHERE owner = ? ORDER BY hex");
    if (!pins)
        return std::unexpected(pins.error());
    pins->bind(1, std::string_view(slotName(slot)));
    std::optional<std::string> badPin;
    if (auto ok = pins->each([&](Statement &row) {
            if (auto digest = schedule::Digest::fromHex(row.columnText(0)))
                m.assets.push_back(std::move(*digest));
            else
                badPin = row.columnText(0);
        });
        !ok)
        return std::unexpected(ok.error());
    // Only putSlot() writes pins, from Digests: anything else is a damaged state.db.
    if (badPin)
        return fail(ErrorCode::Corrupt, "state.db: a pin of a stored manifest is not a SHA-256 name: " + *badPin);
    return std::optional(std::move(m));
}

Result<void> ManifestStore::putSlot(Slot slot, const StoredManifest &m)
{
    const std::string_view name = slotName(slot);
    auto put = m_db.prepare("INSERT OR REPLACE INTO manifests(slot, version, envelope, stored_at) VALUES(?,?,?,?)");
    if (!put)
        return std::unexpected(put.error());
    if (auto ok = put->bind(1, name)
                      .bind(2, m.version)
                      .bindBlob(3, std::as_bytes(std::span(m.envelope.data(), m.envelope.size())))
                      .bind(4, rowClockMs())
                      .run();
        !ok)
        return ok;
    auto clear = m_db.prepare("DELETE FROM pins WHERE owner = ?");
    if (!clear)
        return std::unexpected(clear.error());
    if (auto ok = clear->bind(1, name).run(); !ok)
        return ok;
    auto pin = m_db.prepare("INSERT OR IGNORE INTO pins(owner, hex) VALUES(?, ?)");
    if (!pin)
        return std::unexpected(pin.error());
    for (const auto &digest : m.assets)
        if (auto ok = pin->bind(1, name).bind(2, digest.hex()).run(); !ok)
            return ok;
    return {};
}

Result<void> ManifestStore::checkAboveFloor(std::int64_t version)
{
    auto floor = rollbackFloor();
    if (!floor)
        return std::unexpected(floor.error());
    if (version <= *floor)
        return fail(ErrorCode::Rollback, "version " + std::to_string(version) + " is not newer than adopted " +
                                             std::to_string(*floor));
    return {};
}

Result<void> ManifestStore::checkAssetsPresent(const std::vector<schedule::Digest> &assets)
{
    auto st = m_db.prepare("SELECT 1 FROM blobs WHERE hex = ?");
    if (!st)
        return std::unexpected(st.error());
    for (const auto &digest : assets) {
        auto s = st->bind(1, digest.hex()).step();
        if (!s)
            return std::unexpected(s.error());
        const bool present = *s == Statement::Step::Row;
        st->reset();
        if (!present)
            return fail(ErrorCode::NotFound, "asset " + digest.ref() + " is not in the store");
    }
    return {};
}

Result<void> ManifestStore::raiseFloor(std::int64_t version)
{
    auto st = m_db.prepare("INSERT INTO kv(key, value) VALUES(?1, ?2) "
                           "ON CONFLICT(key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), ?2)");
    if (!st)
        return std::unexpected(st.error());
    return st->bind(1, std::string_view(kFloorKey)).bind(2, version).run();
}

Result<void> ManifestStore::stage(const StoredManifest &m)
{
    auto tx = Transaction::begin(m_db);
    if (!tx)
        return std::unexpected(tx.error());
    if (auto ok = checkAboveFloor(m.version); !ok)
        return ok;
    if (auto ok = putSlot(Slot::Staged, m); !ok)
        return ok;
    return tx->commit();
}

Result<void> ManifestStore::dropStaged()
{
    auto tx = Transaction::begin(m_db);
    if (!tx)
        return std::unexpected(tx.error());
    if (auto ok = m_db.exec("DELETE FROM manifests WHERE slot = 'staged'; DELETE FROM pins WHERE owner = 'staged';");
        !ok)
        return ok;
    return tx->commit();
}

Result<void> ManifestStore::activateStaged()
{
    {
        auto tx = Transaction::begin(m_db);
        if (!tx)
            return std::unexpected(tx.error());
        auto staged = get(Slot::Staged);
        if (!staged)
            return std::unexpected(staged.error());
        if (!*staged)
            return fail(ErrorCode::NotFound, "no staged manifest to activate");
        if (auto ok = checkAboveFloor((*staged)->version); !ok)
            return ok;
        if (auto ok = checkAssetsPresent((*staged)->assets); !ok)
            return ok;
        if (auto ok = putSlot(Slot::Active, **staged); !ok)
            return ok;
        if (auto ok = m_db.exec("DELETE FROM manifests WHERE slot = 'staged'; DELETE FROM pins WHERE owner = 'staged';");
            !ok)
            return ok;
        if (auto ok = raiseFloor((*staged)->version); !ok)
            return ok;
        if (auto ok = KeyValue(m_db).add(kGenerationKey, 1); !ok)
            return std::unexpected(ok.error());
        if (auto ok = tx->commit(); !ok)
            return ok;
        qCInfo(lcCache, "manifest version %lld is now active", static_cast<long long>((*staged)->version));
    }
    return writeMirror();
}

Result<void> ManifestStore::activate(const StoredManifest &m)
{
    if (auto ok = stage(m); !ok)
        return ok;
    return activateStaged();
}

Result<void> ManifestStore::restore(const std::optional<StoredManifest> &m, const FloorRecord &floor)
{
    auto tx = Transaction::begin(m_db);
    if (!tx)
        return std::unexpected(tx.error());
    KeyValue kv(m_db);
    if (m) {
        if (auto ok = putSlot(Slot::Active, *m); !ok)
            return ok;
        if (auto ok = kv.add(kGenerationKey, 1); !ok)
            return std::unexpected(ok.error());
    }
    if (auto ok = kv.setInt(kFloorKey, floor.floor); !ok)
        return ok;
    if (auto ok = floor.resetKeysVersion ? kv.setInt(kFloorResetKey, *floor.resetKeysVersion) : kv.remove(kFloorResetKey);
        !ok)
        return ok;
    return tx->commit();
}

Result<FloorReset> ManifestStore::resetFloor(std::int64_t floor, std::int64_t keysVersion)
{
    FloorReset r;
    {
        auto tx = Transaction::begin(m_db);
        if (!tx)
            return std::unexpected(tx.error());
        auto record = floorRecord();
        if (!record)
            return std::unexpected(record.error());
        r.before = r.after = record->floor;
        if (!record->resetKeysVersion || keysVersion > *record->resetKeysVersion) {
            r.applied = true;
            r.after = std::min(record->floor, floor);
            KeyValue kv(m_db);
            if (auto ok = kv.setInt(kFloorKey, r.after); !ok)
                return std::unexpected(ok.error());
            if (auto ok = kv.setInt(kFloorResetKey, keysVersion); !ok)
                return std::unexpected(ok.error());
            if (auto ok = tx->commit(); !ok)
                return std::unexpected(ok.error());
        }
    }
    if (r.after < r.before)
        qCWarning(lcCache, "keys document version %lld lowered the manifest version floor from %lld to %lld",
                  static_cast<long long>(keysVersion), static_cast<long long>(r.before),
                  static_cast<long long>(r.after));
    // Also when nothing changed: a mirror write that failed after an earlier
    // reset is made good when the keys document is fetched again.
    if (auto ok = writeMirror(); !ok)
        return std::unexpected(ok.error());
    return r;
}

Result<FloorRecord> ManifestStore::floorRecord()
{
    auto floor = rollbackFloor();
    if (!floor)
        return std::unexpected(floor.error());
    auto reset = KeyValue(m_db).getInt(kFloorResetKey);
    if (!reset)
        return std::unexpected(reset.error());
    return FloorRecord{*floor, *reset};
}

Result<std::int64_t> ManifestStore::rollbackFloor()
{
    auto v = KeyValue(m_db).getInt(kFloorKey);
    if (!v)
        return std::unexpected(v.error());
    return v->value_or(0);
}

Result<std::int64_t> ManifestStore::generation()
{
    auto v = KeyValue(m_db).getInt(kGenerationKey);
    if (!v)
        return std::unexpected(v.error());
    return v->value_or(0);
}

Result<void> ManifestStore::writeMirror()
{
    auto active = get(Slot::Active);
    if (!active)
        return std::unexpected(active.error());
    auto floor = floorRecord();
    if (!floor)
        return std::unexpected(floor.error());
    if (auto ok = ensureDirectory(mirrorDir()); !ok)
        return ok;
    // Floor first: if we crash between the two writes, the floor is never
    // behind the mirrored manifest (unless a reset put it there, and then
    // the reset record travels in the same file).
    std::string floorText = std::to_string(floor->floor) + "\n";
    if (floor->resetKeysVersion)
        floorText += kResetLinePrefix + std::to_string(*floor->resetKeysVersion) + "\n";
    if (auto ok = writeFileAtomically(mirrorDir() / "floor", std::as_bytes(std::span(floorText))); !ok)
        return ok;
    if (!*active)
        return {};
    QJsonArray assets;
    for (const auto &digest : (*active)->assets)
        assets.append(QString::fromStdString(digest.hex()));
    const QJsonObject obj{
        {"version", static_cast<qint64>((*active)->version)},
        {"assets", assets},
        {"envelope_base64",
         QString::fromLatin1(QByteArray::fromStdString((*active)->envelope).toBase64())},
    };
    const QByteArray json = QJsonDocument(obj).toJson(QJsonDocument::Compact);
    return writeFileAtomically(mirrorDir() / "active.json",
                               std::as_bytes(std::span(json.constData(), static_cast<std::size_t>(json.size()))));
}

Result<std::optional<StoredManifest>> ManifestStore::readMirror(const std::filesystem::path &dataDir)
{
    auto text = readWholeFile(dataDir / "manifests" / "active.json", kMaxMirrorBytes);
    if (!text) {
        if (text.error().code == ErrorCode::NotFound)
            return std::optional<StoredManifest>();
        return std::unexpected(text.error());
    }
    QJsonParseError perr;
    const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(*text), &perr);
    const auto obj = doc.object();
    if (perr.error != QJsonParseError::NoError || !obj.value("version").isDouble() ||
        !obj.value("assets").isArray() || !obj.value("envelope_base64").isString())
        return fail(ErrorCode::Corrupt, "manifests/active.json is not a mirrored manifest");
    StoredManifest m;
    m.version = obj.value("version").toInteger();
    for (const auto &a : obj.value("assets").toArray()) {
        auto digest = schedule::Digest::fromHex(a.toString().toStdString());
        if (!digest)
            return fail(ErrorCode::Corrupt, "manifests/active.json names a bad asset");
        m.assets.push_back(std::move(*digest));
    }
    const auto decoded = QByteArray::fromBase64Encoding(obj.value("envelope_base64").toString().toLatin1(),
                                                        QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return fail(ErrorCode::Corrupt, "manifests/active.json has a bad envelope encoding");
    m.envelope = decoded.decoded.toStdString();
    return std::optional(std::move(m));
}

Result<FloorRecord> ManifestStore::readMirroredFloor(const std::filesystem::path &dataDir)
{
    auto text = readWholeFile(dataDir / "manifests" / "floor", 128);
    if (!text) {
        if (text.error().code == ErrorCode::NotFound)
            return FloorRecord{};
        return std::unexpected(text.error());
    }
    // "<floor>\n", then "reset_by_keys_version <K>\n" once a reset happened.
    auto number = [](const std::string &s) -> std::optional<std::int64_t> {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || v < 0)
            return std::nullopt;
        return v;
    };
    const std::size_t eol = text->find('\n');
    const auto floor = number(text->substr(0, eol));
    if (!floor)
        return fail(ErrorCode::Corrupt, "manifests/floor is not a number");
    FloorRecord record{*floor, std::nullopt};
    const std::string rest = eol == std::string::npos ? std::string() : text->substr(eol + 1);
    if (rest.empty())
        return record;
    const std::string prefix = kResetLinePrefix;
    const std::optional<std::int64_t> keys = rest.starts_with(prefix) && rest.ends_with('\n')
        ? number(rest.substr(prefix.size(), rest.size() - prefix.size() - 1))
        : std::nullopt;
    if (!keys)
        return fail(ErrorCode::Corrupt, "manifests/floor has a bad reset line");
    record.resetKeysVersion = *keys;
    return record;
}

} // namespace stoa::cache
