# Hub: the real `stoa-hub serve` (SQLite, then PostgreSQL) under thousands of
# virtual devices on keep-alive connections, side by side with nginx
# (Debian package `nginx`) answering `return 204;` to the same requests:
# closed-loop throughput, open-loop latency, a 10x spike with RSS, RSS with
# 100,000 devices (docs/benchmarks.md). The PostgreSQL runner is the hub
# tests' throwaway server (tests/hub/postgres_server.cpp), compiled in here.
find_package(PostgreSQL REQUIRED)
stoa_add_bench(hub_ingest_bench ${CMAKE_CURRENT_LIST_DIR}/hub_ingest_bench.cpp
               ${PROJECT_SOURCE_DIR}/tests/hub/postgres_server.cpp)
target_include_directories(hub_ingest_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/hub)
target_link_libraries(hub_ingest_bench PRIVATE PostgreSQL::PostgreSQL Qt6::Core Threads::Threads stoa_test_harness)
target_compile_definitions(hub_ingest_bench PRIVATE STOA_HUB_BIN="$<TARGET_FILE:stoa-hub>")
add_dependencies(hub_ingest_bench stoa-hub)
