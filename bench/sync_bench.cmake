# Sync: the real stoa-syncd against a real nginx (Debian package `nginx`) on
# loopback — throughput vs curl, bytes fetched again after a SIGKILL, peak RSS.
# Runs the built `stoa` and `stoa-syncd`; the nginx runner is the tests'
# stoa_nginx library (tests/sync), so it is built only with those tests.
if(TARGET stoa_nginx)
  stoa_add_bench(sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cpp)
  target_link_libraries(sync_bench PRIVATE stoa_nginx stoa_cache Qt6::Core stoa_test_harness)
  target_compile_definitions(sync_bench PRIVATE STOA_BIN="$<TARGET_FILE:stoa>" STOA_SYNCD="$<TARGET_FILE:stoa-syncd>")
  add_dependencies(sync_bench stoa stoa-syncd)
endif()
