// player/item_picker.cpp — round-robin over tied playlists (see item_picker.h).
#include "player/item_picker.h"

namespace stoa::player {


std::optional<Pick> ItemPicker::next(const schedule::Manifest &manifest, const std::vector<std::string> &playlists,
                                     const Usable &usable)
{
    if (playlists != m_set) {
        reset();
        m_set = playlists;
    }
    for (std::size_t turn = 0; turn < m_set.size(); ++turn) {
        const std::string &name = m_set[m_turn % m_set.size()];
        m_turn = (m_turn + 1) % m_set.size();
        const auto it = manifest.playlists.find(name);
        if (it == manifest.playlists.end() || it->second.items.empty())
            continue;
        const std::size_t count = it->second.items.size();
        std::size_t &pos = m_position[name];
        for (std::size_t step = 0; step < count; ++step) {
            const std::size_t index = (pos + step) % count;
            if (usable(name, index)) {
                pos = (index + 1) % count;
                return Pick{name, index};
            }
        }
    }
    return std::nullopt;
}

void ItemPicker::reset()
{
    m_set.clear();
    m_position.clear();
    m_turn = 0;
}

} // namespace stoa::player
