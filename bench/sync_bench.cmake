# Sync: the real stoa-syncd against a real nginx (Debian package `nginx`) on
# loopback — throughput vs curl, bytes fetched again after a SIGKILL, peak RSS.
# Runs the built `stoa` and `stoa-syncd`; the nginx runner is the tests' one.
stoa_add_bench(sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cpp
               ${PROJECT_SOURCE_DIR}/tests/sync/nginx_server.cpp)
target_include_directories(sync_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/sync ${PROJECT_SOURCE_DIR})
target_link_libraries(sync_bench PRIVATE stoa_cache Qt6::Core)
target_compile_definitions(sync_bench PRIVATE STOA_BIN="$<TARGET_FILE:stoa>" STOA_SYNCD="$<TARGET_FILE:stoa-syncd>")
add_dependencies(sync_bench stoa stoa-syncd)
