# Hub: the agent's real backoff (sync::Pacer) for 10,000 virtual devices in
# scaled time, polling the real `stoa-hub serve` over loopback through a hub
# outage (SIGKILL + restart, or SIGSTOP/SIGCONT), against policies without
# jitter; /healthz sampled during the recovery (docs/benchmarks.md).
stoa_add_bench(hub_herd_bench ${CMAKE_CURRENT_LIST_DIR}/hub_herd_bench.cpp)
target_link_libraries(hub_herd_bench PRIVATE stoa_sync Threads::Threads stoa_test_harness)
target_compile_definitions(hub_herd_bench PRIVATE STOA_HUB_BIN="$<TARGET_FILE:stoa-hub>")
add_dependencies(hub_herd_bench stoa-hub)
