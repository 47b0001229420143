# End-to-end: the real `stoa publish`, a real nginx (Debian package `nginx`;
# the test skips without it) or a file:// site, and the real stoa-syncd.
# stoa_nginx: the nginx runner shared with bench/sync_bench.
add_library(stoa_nginx STATIC ${CMAKE_CURRENT_LIST_DIR}/nginx_server.cpp ${CMAKE_CURRENT_LIST_DIR}/nginx_server.h)
target_include_directories(stoa_nginx PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(stoa_nginx PUBLIC Qt6::Core PRIVATE stoa_test_harness)
stoa_warnings(stoa_nginx)

stoa_add_test(NAME tst_e2e_nginx SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_e2e_nginx.cpp
              LIBS stoa_nginx stoa_cache LABELS sync e2e TIMEOUT 240)
target_compile_definitions(tst_e2e_nginx PRIVATE STOA_BIN="$<TARGET_FILE:stoa>"
                           STOA_SYNCD="$<TARGET_FILE:stoa-syncd>")
add_dependencies(tst_e2e_nginx stoa stoa-syncd)

# A stolen signing key as an operator lives it (v1.1 §11 fast-forward
# recovery, the signed-time cap): the real `stoa keygen/keys/publish`,
# stoa-syncd and stoa-player (offscreen) on one store, the FaultServer.
stoa_add_test(NAME tst_signing_recovery SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_signing_recovery.cpp
              ${CMAKE_CURRENT_LIST_DIR}/agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync e2e TIMEOUT 300)
target_include_directories(tst_signing_recovery PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(tst_signing_recovery PRIVATE STOA_BIN="$<TARGET_FILE:stoa>"
                           STOA_SYNCD="$<TARGET_FILE:stoa-syncd>" STOA_PLAYER="$<TARGET_FILE:stoa-player>")
add_dependencies(tst_signing_recovery stoa stoa-syncd stoa-player)

# The wall clock jumps under both processes (issue 15, "Clocks"): the real
# stoa-syncd and stoa-player (offscreen) under libfaketime (Debian `faketime`,
# installed by setup.sh; the test fails without it), the FaultServer's log
# timing the polls and heartbeats.
stoa_add_test(NAME tst_clock_jumps SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_clock_jumps.cpp
              ${CMAKE_CURRENT_LIST_DIR}/agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync e2e TIMEOUT 240)
target_include_directories(tst_clock_jumps PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(tst_clock_jumps PRIVATE STOA_SYNCD="$<TARGET_FILE:stoa-syncd>"
                           STOA_PLAYER="$<TARGET_FILE:stoa-player>")
add_dependencies(tst_clock_jumps stoa-syncd stoa-player)
