// player/item_picker.h — which item plays next (spec §3 "items taking turns").
//
// Playlists tied at the top priority share the screen: one item from each in
// turn (A1 B1 A2 B2 ...), each playlist's items in order, wrapping. Items the
// caller reports unusable (marked bad) are passed over; a playlist with none
// left gives its turn to the next. A different playlist set starts afresh.
//
// Invariant: next() returns an item for which usable() was true, or nullopt
// when no item of any playlist in the set is usable. Cost: O(items) worst case.
#pragma once

#include "schedule/manifest.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stoa::player {

struct Pick {
    std::string playlist;
    std::size_t index = 0;
};

class ItemPicker {
public:
    using Usable = std::function<bool(const std::string &playlist, std::size_t index)>;

    std::optional<Pick> next(const schedule::Manifest &manifest, const std::vector<std::string> &playlists,
                             const Usable &usable);
    // Forget positions (a new manifest).
    void reset();

private:
    std::vector<std::string> m_set;                // the set the positions belong to
    std::map<std::string, std::size_t> m_position; // next index to try per playlist
    std::size_t m_turn = 0;                        // whose turn, index into m_set
};

} // namespace stoa::player
