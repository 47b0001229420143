# Sync: a 10,000-device fleet through a backend outage, with the agent's real
# backoff (sync::Pacer) in virtual time, against policies without jitter.
stoa_add_bench(herd_bench ${CMAKE_CURRENT_LIST_DIR}/herd_bench.cpp)
target_link_libraries(herd_bench PRIVATE stoa_sync)
