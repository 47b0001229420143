# Sync agent tests (helper E): the agent in-process and as the real
# stoa-syncd process, against the FaultServer serving published sites.
# Included OPTIONALly by CMakeLists.txt in this folder.
foreach(_t tst_agent_faults tst_agent_downloads tst_agent_telemetry)
  stoa_add_test(NAME ${_t} SOURCES ${_t}.cpp agent_harness.h
                LIBS stoa_sync stoa_tools stoa_fault_server LABELS sync TIMEOUT 400)
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
endforeach()
