# Issue 18's fleet rehearsal, by hand (docs/benchmarks.md): real stoa-syncd
# processes and virtual devices through a fault proxy (bench/fault_proxy.cpp,
# latency and reset connections) and HAProxy to two stoa-hub replicas on one
# PostgreSQL (the hub tests' throwaway server, compiled in); the hub tier down
# and back, then a spike; requests per second as a PNG (QPainter).
find_package(PostgreSQL REQUIRED)
find_package(Qt6 6.4 REQUIRED COMPONENTS Gui)
stoa_add_bench(fault_proxy ${CMAKE_CURRENT_LIST_DIR}/fault_proxy.cpp)
stoa_add_bench(fleet_rehearsal ${CMAKE_CURRENT_LIST_DIR}/fleet_rehearsal.cpp ${CMAKE_CURRENT_LIST_DIR}/http_pool.h
               ${PROJECT_SOURCE_DIR}/tests/hub/postgres_server.cpp)
target_include_directories(fleet_rehearsal PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/tests/hub)
target_link_libraries(fleet_rehearsal PRIVATE stoa_hub stoa_sync Qt6::Gui PostgreSQL::PostgreSQL Threads::Threads
                      stoa_test_harness)
target_compile_definitions(fleet_rehearsal PRIVATE STOA_HUB_BIN="$<TARGET_FILE:stoa-hub>"
                           STOA_SYNCD_BIN="$<TARGET_FILE:stoa-syncd>" FAULT_PROXY_BIN="$<TARGET_FILE:fault_proxy>")
add_dependencies(fleet_rehearsal stoa-hub stoa-syncd fault_proxy)
