# What a layout costs (issue 20): RSS, CPU and frames lost per region, one
# region against three, the real stoa-player run under the bench's display.
stoa_add_bench(layout_bench ${CMAKE_CURRENT_LIST_DIR}/layout_bench.cpp)
target_link_libraries(layout_bench PRIVATE stoa_player Qt6::Test stoa_test_harness)
target_compile_definitions(layout_bench PRIVATE STOA_PLAYER_BIN="$<TARGET_FILE:stoa-player>")
add_dependencies(layout_bench stoa-player)
