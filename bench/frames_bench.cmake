# Frames lost at transitions (issue 5): the real stoa-player with --frame-log
# under a private Xvfb (xvfb-run), media made with QImage and ffmpeg.
stoa_add_bench(frames_bench ${CMAKE_CURRENT_LIST_DIR}/frames_bench.cpp)
target_link_libraries(frames_bench PRIVATE stoa_player Qt6::Test stoa_test_harness)
target_compile_definitions(frames_bench PRIVATE STOA_PLAYER_BIN="$<TARGET_FILE:stoa-player>")
add_dependencies(frames_bench stoa-player)
