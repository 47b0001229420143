// player/bad_items.cpp — see bad_items.h.
#include "player/bad_items.h"

#include <algorithm>

namespace stoa::player {

std::string contentKey(const schedule::PlaylistItem &item)
{
    if (item.asset)
        return item.asset->ref();
    if (item.text)
        return "text:" + item.text->text.toStdString();
    return item.url.value_or(item.stream.value_or(QString())).toStdString();
}

bool BadItems::isBad(const std::string &key, std::int64_t nowMs) const
{
    const auto it = m_items.find(key);
    return it != m_items.end() && it->second.retryAtMs > nowMs;
}

void BadItems::markBad(const std::string &key, std::int64_t nowMs)
{
    Entry &bad = m_items[key];
    ++bad.failures;
    std::int64_t delay = m_base.count();
    for (int i = 1; i < bad.failures && delay < m_max.count(); ++i)
        delay *= 2;
    bad.retryAtMs = nowMs + std::min<std::int64_t>(delay, m_max.count());
}

std::optional<std::int64_t> BadItems::firstRetryMs(std::int64_t nowMs) const
{
    std::optional<std::int64_t> first;
    for (const auto &[key, bad] : m_items)
        if (bad.retryAtMs > nowMs && (!first || bad.retryAtMs < *first))
            first = bad.retryAtMs;
    return first;
}

} // namespace stoa::player
