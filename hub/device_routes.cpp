// The device side of the protocol: §1 GETs from the site, §5 heartbeats,
// §6 proof of play and the screenshot PUT.
#include "hub/hub_impl.h"
#include "hub/logging.h"
#include "hub/site_files.h"

#include "publish/site.h"
#include "schedule/digest.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace stoa::hub {
namespace {

constexpr std::size_t kMaxPlayIdLength = 256;

QByteArray view(const std::string &s) { return QByteArray::fromRawData(s.data(), static_cast<qsizetype>(s.size())); }

// Valid UTF-8 (no overlongs, no surrogates) without NUL: what both storage
// backends keep as text (storage.h).
bool cleanText(std::string_view text)
{
    const auto *p = reinterpret_cast<const unsigned char *>(text.data());
    const auto *end = p + text.size();
    while (p < end) {
        // Eight ASCII bytes without a NUL at a time: nearly all of a
        // heartbeat (this pass was ~6 % of the hub's instructions a byte at
        // a time).
        constexpr std::uint64_t kHigh = 0x8080808080808080ULL, kOnes = 0x0101010101010101ULL;
        while (end - p >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, sizeof w);
            if (((w | ((w - kOnes) & ~w)) & kHigh) != 0)
                break; // a byte >= 0x80 or a NUL among them: byte by byte below
            p += 8;
        }
        if (p == end)
            break;
        const unsigned c = *p;
        if (c == 0)
            return false;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int n;
        unsigned cp;
        if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
        else return false;
        if (end - p <= n)
            return false;
        for (int i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static constexpr unsigned kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return true;
}

// What the hub reads of a heartbeat (the device id and manifest.version
// at the top level) or of a play record (its id at the top level). A
// strict RFC 8259 scanner over the bytes: building QJsonDocument's tree of
// a ~1 KB heartbeat was ~80 % of the route's instructions (issue 16,
// callgrind), and a plays batch built one per record. It accepts only
// valid JSON (which Qt's parser accepts too), so a body it does not take
// (invalid, deeper than kMaxDepth, an escaped or repeated key it reads,
// that key not a string) goes to QJsonDocument, whose verdict and
// messages stay the answer.
struct HeartbeatFields {
    std::optional<std::string_view> deviceId; // the string at `idKey`, unescaped text only
    std::optional<double> manifestVersion;    // a number at manifest.version
};

class HeartbeatScanner {
public:
    // `idKey`: the top-level string read into deviceId ("id" for a play).
    explicit HeartbeatScanner(std::string_view text, std::string_view idKey = "device_id")
        : p_(text.data()), end_(text.data() + text.size()), idKey_(idKey)
    {
    }

    std::optional<HeartbeatFields> scan()
    {
        ws();
        if (!object(0))
            return std::nullopt;
        ws();
        if (p_ != end_ || seenId_ > 1 || seenManifest_ > 1 || seenVersion_ > 1)
            return std::nullopt;
        return fields_;
    }

private:
    static constexpr int kMaxDepth = 64;
    // Bytes a string holds as they are: not a quote, a backslash, a control.
    static constexpr auto kPlain = [] {
        std::array<bool, 256> plain{};
        for (int c = 0x20; c < 256; ++c)
            plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
        return plain;
    }();
    enum class Where { Other, Top, Manifest };

    void ws()
    {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
            ++p_;
    }
    // A string; `raw` is its text when it holds no escape.
    bool string(std::optional<std::string_view> &raw)
    {
        if (p_ == end_ || *p_ != '"')
            return false;
        const char *start = ++p_;
        bool escaped = false;
        while (p_ < end_ && *p_ != '"') {
            // A run of plain characters at a time (most of a heartbeat).
            while (kPlain[static_cast<unsigned char>(*p_)] && ++p_ < end_) {
            }
            if (p_ == end_ || *p_ == '"')
                break;
            const auto c = static_cast<unsigned char>(*p_);
            if (c < 0x20)
                return false;
            if (c == '\\') {
                escaped = true;
                if (++p_ == end_)
                    return false;
                if (*p_ == 'u') {
                    for (int i = 0; i < 4; ++i)
                        if (++p_ == end_ || !std::isxdigit(static_cast<unsigned char>(*p_)))
                            return false;
                } else if (!std::strchr("\"\\/bfnrt", *p_) || *p_ == 0) {
                    return false;
                }
            }
            ++p_;
        }
        if (p_ == end_)
            return false;
        raw = escaped ? std::nullopt : std::optional(std::string_view(start, static_cast<std::size_t>(p_ - start)));
        ++p_;
        return true;
    }
    bool digits()
    {
        const char *start = p_;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
            ++p_;
        return p_ > start;
    }
    bool number(double *out)
    {
        const char *start = p_;
        if (p_ < end_ && *p_ == '-')
            ++p_;
        if (p_ < end_ && *p_ == '0')
            ++p_;
        else if (!digits())
            return false;
        if (p_ < end_ && *p_ == '.' && (++p_, !digits()))
            return false;
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-'))
                ++p_;
            if (!digits())
                return false;
        }
        if (out)
            *out = std::strtod(std::string(start, p_).c_str(), nullptr);
        return true;
    }
    bool literal(std::string_view word)
    {
        if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
            return false;
        p_ += word.size();
        return true;
    }
    bool value(int depth, Where where, std::string_view key)
    {
        if (p_ == end_)
            return false;
        const bool isId = where == Where::Top && key == idKey_;
        const bool isManifest = where == Where::Top && key == "manifest";
        const bool isVersion = where == Where::Manifest && key == "version";
        seenId_ += isId;
        seenManifest_ += isManifest;
        seenVersion_ += isVersion;
        if (isId && *p_ != '"')
            return false; // not a string: Qt's path answers (a mismatch)
        switch (*p_) {
        case '{': return object(depth + 1, isManifest ? Where::Manifest : Where::Other);
        case '[': return array(depth + 1);
        case '"': {
            std::optional<std::string_view> raw;
            if (!string(raw))
                return false;
            if (isId) {
                if (!raw)
                    return false; // escaped: Qt decodes it
                fields_.deviceId = raw;
            }
            return true;
        }
        case 't': return literal("true");
        case 'f': return literal("false");
        case 'n': return literal("null");
        default: {
            double v = 0;
            if (!number(isVersion ? &v : nullptr))
                return false;
            if (isVersion) {
                if (!std::isfinite(v) || std::fabs(v) > 9.0e18)
                    return false; // beyond an integer's range: Qt's path decides
                fields_.manifestVersion = v;
            }
            return true;
        }
        }
    }
    bool object(int depth, Where where = Where::Top)
    {
        if (depth > kMaxDepth || p_ == end_ || *p_ != '{')
            return false;
        ++p_;
        ws();
        if (p_ < end_ && *p_ == '}') {
            ++p_;
            return true;
        }
        for (;;) {
            std::optional<std::string_view> key;
            if (!string(key))
                return false;
            // An escaped key may spell one the hub reads: Qt decides.
            if (!key && where != Where::Other)
                return false;
            ws();
            if (p_ == end_ || *p_ != ':')
                return false;
            ++p_;
            ws();
            if (!value(depth, where, key.value_or(std::string_view())))
                return false;
            ws();
            if (p_ == end_)
                return false;
            if (*p_ == '}') {
                ++p_;
                return true;
            }
            if (*p_ != ',')
                return false;
            ++p_;
            ws();
        }
    }
    bool array(int depth)
    {
        if (depth > kMaxDepth)
            return false;
        ++p_;
        ws();
        if (p_ < end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        for (;;) {
            if (!value(depth, Where::Other, {}))
                return false;
            ws();
            if (p_ == end_)
                return false;
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            if (*p_ != ',')
                return false;
            ++p_;
            ws();
        }
    }

    const char *p_;
    const char *end_;
    std::string_view idKey_;
    HeartbeatFields fields_;
    int seenId_ = 0, seenManifest_ = 0, seenVersion_ = 0;
};

} // namespace

HttpResponse Hub::Impl::siteFile(const HttpRequest &request, const Route &route)
{
    const QString site = QString::fromStdString(options.dataDir + "/site");
    QString path;
    switch (route.kind) {
    case Route::Kind::Keys: path = publish::siteKeysPath(site); break;
    case Route::Kind::FleetManifest: path = publish::siteManifestPath(site); break;
    case Route::Kind::DeviceManifest:
        path = publish::siteDeviceManifestPath(site, QString::fromStdString(route.deviceId));
        break;
    case Route::Kind::Blob: path = publish::siteBlobPath(site, *route.digest); break;
    default: return errorJson(404, "not found");
    }
    return serveFile(request, path.toStdString(), route.kind == Route::Kind::Blob);
}

void Hub::Impl::submit(IngestBatch batch, std::size_t bytes, Answer answer, HttpResponse ok, std::function<void()> then)
{
    // The queue calls back exactly once when it accepted; the answer then
    // travels with the callback.
    auto shared = std::make_shared<Answer>(std::move(answer));
    auto okShared = std::make_shared<HttpResponse>(std::move(ok));
    const bool accepted = ingest.submit(std::move(batch), bytes, [this, shared, okShared, then](const StorageResult<IngestCounts> &r) {
        if (r) {
            m.plays.labels({"stored"}).inc(static_cast<double>(r->playsStored));
            m.plays.labels({"duplicate"}).inc(static_cast<double>(r->playsDuplicate));
            shared->send(std::move(*okShared));
            if (then)
                then();
            return;
        }
        m.dbErrors.inc();
        auto busy = errorJson(503, "not stored: " + r.error().message);
        busy.headers.emplace_back("Retry-After", "10");
        shared->send(std::move(busy));
    });
    if (!accepted) {
        auto busy = errorJson(503, "the hub is busy: try again later");
        busy.headers.emplace_back("Retry-After", std::to_string(options.http.retryAfterS));
        shared->send(std::move(busy));
    }
}

void Hub::Impl::status(HttpRequest request, const Principal &who, Answer answer)
{
    if (!cleanText(request.body)) {
        answer.send(errorJson(400, "heartbeat is not valid UTF-8 text (or holds a NUL byte)"));
        return;
    }
    StatusReport report;
    if (const auto fields = HeartbeatScanner(request.body).scan()) {
        if (fields->deviceId && *fields->deviceId != who.device) {
            answer.send(errorJson(400, "heartbeat device_id does not match the URL's device"));
            return;
        }
        if (fields->manifestVersion)
            report.manifestVersion = static_cast<std::int64_t>(*fields->manifestVersion);
        storeStatus(std::move(request), who, std::move(report), std::move(answer));
        return;
    }
    QJsonParseError err{};
    const auto doc = QJsonDocument::fromJson(view(request.body), &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject()) {
        const std::string why = err.error != QJsonParseError::NoError
                                    ? "not JSON at offset " + std::to_string(err.offset) + ": " + err.errorString().toStdString()
                                    : std::string("not a JSON object");
        qCWarning(lcHub).noquote() << "status from" << who.device.c_str() << "refused:" << why.c_str();
        answer.send(errorJson(400, "heartbeat " + why));
        return;
    }
    const QJsonObject o = doc.object();
    if (const auto id = o.value("device_id"); !id.isUndefined() && id.toString().toStdString() != who.device) {
        answer.send(errorJson(400, "heartbeat device_id does not match the URL's device"));
        return;
    }
    const auto version = o.value("manifest").toObject().value("version");
    if (version.isDouble())
        report.manifestVersion = static_cast<std::int64_t>(version.toDouble());
    storeStatus(std::move(request), who, std::move(report), std::move(answer));
}

void Hub::Impl::storeStatus(HttpRequest request, const Principal &who, StatusReport report, Answer answer)
{
    report.deviceId = who.device;
    report.receivedAtMs = nowMs();
    report.body = std::move(request.body);
    const std::size_t bytes = report.body.size() + 256;
    IngestBatch batch;
    batch.statuses.push_back(std::move(report));
    HttpResponse ok;
    ok.status = 204;
    submit(std::move(batch), bytes, std::move(answer), std::move(ok));
}

void Hub::Impl::plays(HttpRequest request, const Principal &who, Answer answer)
{
    IngestBatch batch;
    QJsonArray bad;
    const std::int64_t now = nowMs();
    const std::string_view body = request.body;
    std::size_t pos = 0;
    int lineNo = 0;
    while (pos < body.size()) {
        auto eol = body.find('\n', pos);
        if (eol == std::string_view::npos)
            eol = body.size();
        auto line = body.substr(pos, eol - pos);
        pos = eol + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos)
            continue;
        if (cleanText(line)) {
            // The usual record: its id read by the scanner; an id it leaves
            // to Qt (absent, empty, escaped, not ASCII: Qt counts UTF-16
            // units against kMaxPlayIdLength) takes the path below.
            const auto fields = HeartbeatScanner(line, "id").scan();
            const auto id = fields ? fields->deviceId : std::nullopt;
            if (id && !id->empty() && id->size() <= kMaxPlayIdLength
                && std::ranges::all_of(*id, [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
                batch.plays.push_back({who.device, std::string(*id), now, std::string(line)});
                continue;
            }
        }
        QJsonParseError err{};
        const auto doc = QJsonDocument::fromJson(QByteArray(line.data(), static_cast<qsizetype>(line.size())), &err);
        std::string why;
        if (!cleanText(line))
            why = "not valid UTF-8 text (or holds a NUL byte)";
        else if (err.error != QJsonParseError::NoError)
            why = "not JSON: " + err.errorString().toStdString();
        else if (!doc.isObject())
            why = "not a JSON object";
        else if (const auto id = doc.object().value("id"); !id.isString() || id.toString().isEmpty())
            why = "no \"id\" string";
        else if (id.toString().size() > static_cast<qsizetype>(kMaxPlayIdLength))
            why = "\"id\" longer than " + std::to_string(kMaxPlayIdLength) + " characters";
        if (!why.empty()) {
            bad.append(QJsonObject{{"line", lineNo}, {"error", QString::fromStdString(why)}});
            continue;
        }
        batch.plays.push_back({who.device, doc.object().value("id").toString().toStdString(), now, std::string(line)});
    }
    if (!bad.isEmpty())
        qCWarning(lcHub).noquote() << "plays from" << who.device.c_str() << ":" << bad.size()
                                   << "malformed line(s), first: line" << bad.first().toObject().value("line").toInt()
                                   << bad.first().toObject().value("error").toString();
    HttpResponse ok;
    if (bad.isEmpty()) {
        ok.status = 204;
    } else {
        // The good lines are kept; the device sends the batch again and
        // their ids de-duplicate.
        QJsonObject o{{"error", QString("%1 malformed line(s)").arg(bad.size())},
                      {"lines", bad},
                      {"stored", static_cast<qint64>(batch.plays.size())}};
        ok = jsonOf(400, o);
    }
    if (batch.empty()) {
        answer.send(std::move(ok));
        return;
    }
    const std::size_t bytes = request.body.size() + batch.plays.size() * 128;
    submit(std::move(batch), bytes, std::move(answer), std::move(ok));
}

void Hub::Impl::screenshot(HttpRequest request, const Principal &who, Answer answer)
{
    const std::string &jpeg = request.body;
    if (jpeg.size() < 4 || static_cast<unsigned char>(jpeg[0]) != 0xFF || static_cast<unsigned char>(jpeg[1]) != 0xD8
        || static_cast<unsigned char>(jpeg[2]) != 0xFF) {
        answer.send(errorJson(400, "a screenshot must be a JPEG"));
        return;
    }
    const std::string hex = schedule::sha256(view(jpeg)).hex();
    const QString path = QString::fromStdString(options.dataDir + "/screenshots/" + hex + ".jpg");
    if (auto w = publish::writeFileAtomically(path, view(jpeg)); !w) {
        qCWarning(lcHub).noquote() << "screenshot from" << who.device.c_str() << "not kept:" << w.error().message;
        auto r = errorJson(503, "cannot store the screenshot now");
        r.headers.emplace_back("Retry-After", "60");
        answer.send(std::move(r));
        return;
    }
    IngestBatch batch;
    batch.screenshots.push_back({who.device, hex, static_cast<std::int64_t>(jpeg.size()), nowMs()});
    HttpResponse ok;
    ok.status = 204;
    // The cap per device: older records go, and files no record names.
    const std::string device = who.device;
    submit(std::move(batch), 512, std::move(answer), std::move(ok), [this, device] {
        post([this, device] {
            auto unused = storage->trimScreenshots(device, options.screenshotsPerDevice);
            if (!unused) {
                m.dbErrors.inc();
                qCWarning(lcHub).noquote() << "screenshots of" << device.c_str() << "not trimmed:" << unused.error().message.c_str();
                return;
            }
            for (const auto &old : *unused) {
                // The same bytes may have just been written again for a
                // record not yet committed: a recent file stays (at worst
                // one file too many, never a record without its file).
                const QString file = QString::fromStdString(options.dataDir + "/screenshots/" + old + ".jpg");
                if (QFileInfo(file).lastModified().secsTo(QDateTime::currentDateTime()) >= options.screenshotFileGraceS)
                    QFile::remove(file);
            }
        });
    });
}

} // namespace stoa::hub
