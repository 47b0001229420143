# Sync agent tests: the agent in-process and as the real stoa-syncd
# process, against the FaultServer serving published sites.
foreach(_t tst_agent_faults tst_agent_downloads tst_agent_telemetry)
  stoa_add_test(NAME ${_t} SOURCES ${_t}.cpp agent_harness.h
                LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync TIMEOUT 400)
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
endforeach()

# A device that cannot take new content says so (issue 15): the report in
# the store, the heartbeat and the metrics, for each reason; process_probe.h
# reads the metrics.
stoa_add_test(NAME tst_agent_blocked SOURCES tst_agent_blocked.cpp agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync TIMEOUT 300)
target_include_directories(tst_agent_blocked PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})

# The real process: SIGKILLs mid-download, the bandwidth cap.
stoa_add_test(NAME tst_agent_kill SOURCES tst_agent_kill.cpp agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync TIMEOUT 300)
target_include_directories(tst_agent_kill PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(tst_agent_kill PRIVATE STOA_SYNCD="$<TARGET_FILE:stoa-syncd>")
add_dependencies(tst_agent_kill stoa-syncd)

# The agent's settings: config file and flags.
stoa_add_test(NAME tst_agent_config SOURCES tst_agent_config.cpp LIBS stoa_sync LABELS sync)

# The real process as systemd and Prometheus see it: /healthz, /metrics, sd_notify.
stoa_add_test(NAME tst_syncd_endpoints SOURCES tst_syncd_endpoints.cpp agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server CURL::libcurl LABELS sync TIMEOUT 300)
target_include_directories(tst_syncd_endpoints PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(tst_syncd_endpoints PRIVATE STOA_SYNCD="$<TARGET_FILE:stoa-syncd>")
add_dependencies(tst_syncd_endpoints stoa-syncd)

# State that outlives its database (issue 15): the real process after
# state.db was corrupted or deleted: no command twice, the floor, unsent plays.
stoa_add_test(NAME tst_state_rebuild SOURCES tst_state_rebuild.cpp agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync TIMEOUT 300)
target_include_directories(tst_state_rebuild PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(tst_state_rebuild PRIVATE STOA_SYNCD="$<TARGET_FILE:stoa-syncd>")
add_dependencies(tst_state_rebuild stoa-syncd)

# The same with both real processes (issue 15): stoa-syncd and stoa-player
# (offscreen) SIGKILLed, state.db corrupted or deleted, both restarted: the
# player's screenshot and the agent's reboot do not run again, the floor
# holds, the player's unsent plays are sent, it plays again. QtGui: the
# test draws its PNGs with QImage.
find_package(Qt6 REQUIRED COMPONENTS Gui)
stoa_add_test(NAME tst_state_rebuild_player SOURCES tst_state_rebuild_player.cpp agent_harness.h
              LIBS stoa_sync stoa_tools stoa_fault_server Qt6::Gui LABELS sync player TIMEOUT 400)
target_include_directories(tst_state_rebuild_player PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(tst_state_rebuild_player PRIVATE STOA_SYNCD="$<TARGET_FILE:stoa-syncd>"
                           STOA_PLAYER="$<TARGET_FILE:stoa-player>")
add_dependencies(tst_state_rebuild_player stoa-syncd stoa-player)
# QtTest stops a test function after 5 min unless told otherwise (two rows, a loaded machine).
set_tests_properties(tst_state_rebuild_player PROPERTIES ENVIRONMENT "QT_QPA_PLATFORM=offscreen;QTEST_FUNCTION_TIMEOUT=390000")

# Crash soak (issue 15; label soak, outside CI): thousands of SIGKILLs of
# crash_soak_writer mid-write and mid-activation, the store checked after
# each; prints the kills and the corruptions found (STOA_SOAK_KILLS).
add_executable(crash_soak_writer ${CMAKE_CURRENT_SOURCE_DIR}/crash_soak_writer.cpp)
target_link_libraries(crash_soak_writer PRIVATE stoa_cache)
target_include_directories(crash_soak_writer PRIVATE ${PROJECT_SOURCE_DIR})
stoa_warnings(crash_soak_writer)
stoa_add_test(NAME tst_crash_soak SOURCES tst_crash_soak.cpp LIBS stoa_cache LABELS sync soak TIMEOUT 3600)
target_compile_definitions(tst_crash_soak PRIVATE CRASH_SOAK_WRITER="$<TARGET_FILE:crash_soak_writer>")
add_dependencies(tst_crash_soak crash_soak_writer)
# QtTest stops a test function after 5 min unless told otherwise.
set_tests_properties(tst_crash_soak PROPERTIES ENVIRONMENT QTEST_FUNCTION_TIMEOUT=3500000)
# The soak's checker, shown to fail on each damage it looks for: seconds, so in CI.
add_test(NAME tst_crash_soak_checker COMMAND tst_crash_soak checkerSeesDamage)
set_tests_properties(tst_crash_soak_checker PROPERTIES LABELS sync TIMEOUT 120)

# The real stoa-player while store.lock is held exclusively (a rebuild, issue
# 15): it serves and plays from the mirror at once, then attaches, and its
# plays of the fallback reach state.db. Offscreen; content as the player tests make it.
stoa_add_test(NAME tst_state_player SOURCES tst_state_player.cpp LIBS stoa_player LABELS sync player TIMEOUT 300)
target_include_directories(tst_state_player PRIVATE ${PROJECT_SOURCE_DIR}/tests/player)
target_compile_definitions(tst_state_player PRIVATE STOA_PLAYER="$<TARGET_FILE:stoa-player>")
add_dependencies(tst_state_player stoa-player)
