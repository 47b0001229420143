# v1.1 §13 sync accuracy (issue 20): two real stoa-player processes (own
# stores, own Xvfbs, one host clock) on one playlist, with and without sync.
stoa_add_bench(sync_accuracy ${CMAKE_CURRENT_LIST_DIR}/sync_accuracy.cpp)
target_link_libraries(sync_accuracy PRIVATE stoa_player Qt6::Test stoa_test_harness)
target_compile_definitions(sync_accuracy PRIVATE STOA_PLAYER="$<TARGET_FILE:stoa-player>")
add_dependencies(sync_accuracy stoa-player)
