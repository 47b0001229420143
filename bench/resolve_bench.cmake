# Schedule engine: time to resolve "what plays now" + next change on a large manifest.
stoa_add_bench(resolve_bench ${CMAKE_CURRENT_LIST_DIR}/resolve_bench.cpp)
target_link_libraries(resolve_bench PRIVATE stoa_schedule)
