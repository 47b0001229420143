# tests/arrows/rules-broken.cmake — the real rules with two arrows the tree
# does have forbidden (the player including cache/, stoa_player linking
# stoa_cache): check-arrows.cmake must fail on them (arrows_checker_fails).
include(${CMAKE_CURRENT_LIST_DIR}/rules.cmake)
set(ALLOW_player schedule endpoints)
list(APPEND FORBID_LINK_stoa_player stoa_cache)
