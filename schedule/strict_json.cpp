// schedule/strict_json.cpp — see strict_json.h. QJsonDocument validates the
// grammar first; the duplicate-key scan then walks the same (known valid)
// text without recursion, so depth cannot exhaust the stack, and it still
// checks every bound because it is also fed fuzzer input.
#include "schedule/strict_json.h"

#include <QJsonDocument>
#include <QJsonParseError>

#include <set>
#include <vector>

namespace stoa::schedule {
namespace {

int hexValue(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Skips the JSON string starting at text[pos] == '"', advancing pos past
// the closing quote. Values (which can be megabytes of base64) are only
// skipped, never decoded. false on malformed input.
bool skipString(QByteArrayView text, qsizetype &pos)
{
    ++pos; // opening quote
    while (pos < text.size()) {
        const char c = text[pos];
        if (c == '"') {
            ++pos;
            return true;
        }
        pos += (c == '\\') ? 2 : 1;
    }
    return false;
}

// Decodes the JSON string starting at text[pos] == '"' into UTF-16 units,
// advancing pos past the closing quote. nullopt on malformed input.
std::optional<QString> readString(QByteArrayView text, qsizetype &pos)
{
    QString out;
    ++pos; // opening quote
    qsizetype runStart = pos;
    auto flush = [&](qsizetype end) {
        out += QString::fromUtf8(text.sliced(runStart, end - runStart));
    };
    while (pos < text.size()) {
        const char c = text[pos];
        if (c == '"') {
            flush(pos);
            ++pos;
            return out;
        }
        if (c != '\\') {
            ++pos;
            continue;
        }
        flush(pos);
        if (pos + 1 >= text.size()) return std::nullopt;
        const char e = text[pos + 1];
        pos += 2;
        switch (e) {
        case '"': out += QLatin1Char('"'); break;
        case '\\': out += QLatin1Char('\\'); break;
        case '/': out += QLatin1Char('/'); break;
        case 'b': out += QLatin1Char('\b'); break;
        case 'f': out += QLatin1Char('\f'); break;
        case 'n': out += QLatin1Char('\n'); break;
        case 'r': out += QLatin1Char('\r'); break;
        case 't': out += QLatin1Char('\t'); break;
        case 'u': {
            if (pos + 4 > text.size()) return std::nullopt;
            char16_t unit = 0;
            for (int i = 0; i < 4; ++i) {
                const int h = hexValue(text[pos + i]);
                if (h < 0) return std::nullopt;
                unit = char16_t((unit << 4) | h);
            }
            // Surrogates are kept as separate units: equal keys give equal
            // unit sequences, which is all the comparison needs.
            out += QChar(unit);
            pos += 4;
            break;
        }
        default:
            return std::nullopt;
        }
        runStart = pos;
    }
    return std::nullopt;
}

struct Scope {
    bool isObject = false;
    bool expectKey = false;
    std::set<QString> keys;
};

std::optional<QString> findDuplicateKey(QByteArrayView text)
{
    std::vector<Scope> stack;
    qsizetype pos = 0;
    while (pos < text.size()) {
        const char c = text[pos];
        switch (c) {
        case '{':
            stack.push_back(Scope{true, true, {}});
            ++pos;
            break;
        case '[':
            stack.push_back(Scope{false, false, {}});
            ++pos;
            break;
        case '}':
        case ']':
            if (!stack.empty()) stack.pop_back();
            ++pos;
            break;
        case ',':
            if (!stack.empty() && stack.back().isObject) stack.back().expectKey = true;
            ++pos;
            break;
        case '"': {
            if (stack.empty() || !stack.back().isObject || !stack.back().expectKey) {
                if (!skipString(text, pos)) return QStringLiteral("malformed string");
                break;
            }
            auto s = readString(text, pos);
            if (!s) return QStringLiteral("malformed string");
            stack.back().expectKey = false;
            if (!stack.back().keys.insert(*s).second)
                return QStringLiteral("duplicate key \"%1\"").arg(*s);
            break;
        }
        default:
            ++pos; // whitespace, ':', numbers, literals
            break;
        }
    }
    return std::nullopt;
}

} // namespace

std::expected<QJsonObject, QString> parseStrictJsonObject(QByteArrayView json)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(json.toByteArray(), &error);
    if (error.error != QJsonParseError::NoError)
        return std::unexpected(QStringLiteral("invalid JSON at offset %1: %2").arg(error.offset).arg(error.errorString()));
    if (!doc.isObject())
        return std::unexpected(QStringLiteral("JSON top level is not an object"));
    if (auto dup = findDuplicateKey(json))
        return std::unexpected(*dup);
    return doc.object();
}

} // namespace stoa::schedule
