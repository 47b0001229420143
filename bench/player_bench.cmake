# stoa-player figures (start-up, idle CPU, RSS); run under Xvfb, see the source.
stoa_add_bench(player_bench ${CMAKE_CURRENT_LIST_DIR}/player_bench.cpp)
target_link_libraries(player_bench PRIVATE stoa_player Qt6::Test stoa_test_harness)
target_compile_definitions(player_bench PRIVATE STOA_PLAYER_BIN="$<TARGET_FILE:stoa-player>")
add_dependencies(player_bench stoa-player)
