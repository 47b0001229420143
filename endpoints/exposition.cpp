// endpoints/exposition.cpp — see exposition.h.
#include "endpoints/exposition.h"

#include <QString>

#include <charconv>
#include <cmath>

namespace stoa::endpoints::exposition {

namespace {

bool isAscii(std::string_view s)
{
    for (unsigned char c : s) {
        if (c >= 0x80)
            return false;
    }
    return true;
}

// Prometheus rejects a scrape with invalid UTF-8; replace rather than drop
// the whole exposition because of one odd label value.
std::string validUtf8(std::string_view s)
{
    if (isAscii(s))
        return std::string(s);
    return QString::fromUtf8(s.data(), qsizetype(s.size())).toStdString();
}

} // namespace

std::string formatValue(double v)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

void appendLabelValue(std::string &out, std::string_view value)
{
    for (char c : validUtf8(value)) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
}

void appendHelp(std::string &out, std::string_view help)
{
    for (char c : validUtf8(help)) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
}

} // namespace stoa::endpoints::exposition
