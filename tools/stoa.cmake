# The `stoa` operator command (docs/stoa-command.md). Publishing is the
# publish/ library; stoa_tools holds what the command adds on top (verify a
# site, inspect a manifest) so tests can call it directly; the executable
# only parses command lines.
add_library(stoa_tools STATIC
  ${CMAKE_CURRENT_LIST_DIR}/verify.h ${CMAKE_CURRENT_LIST_DIR}/verify.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inspect.h ${CMAKE_CURRENT_LIST_DIR}/inspect.cpp)
target_include_directories(stoa_tools PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(stoa_tools PUBLIC stoa_publish stoa_schedule Qt6::Core)
stoa_warnings(stoa_tools)

# What operators run against a device's store (status) and the end-to-end
# demo: these need the store and the sync agent, publishing does not.
find_package(Qt6 REQUIRED COMPONENTS Gui)
add_library(stoa_device_tools STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store_report.h ${CMAKE_CURRENT_LIST_DIR}/store_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/demo.h ${CMAKE_CURRENT_LIST_DIR}/demo.cpp
  ${CMAKE_CURRENT_LIST_DIR}/provision.h ${CMAKE_CURRENT_LIST_DIR}/provision.cpp)
target_link_libraries(stoa_device_tools PUBLIC stoa_tools stoa_cache stoa_sync Qt6::Gui)
stoa_warnings(stoa_device_tools)

add_executable(stoa
  ${CMAKE_CURRENT_LIST_DIR}/stoa_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli.h ${CMAKE_CURRENT_LIST_DIR}/cli.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_keygen.cpp ${CMAKE_CURRENT_LIST_DIR}/cli_publish.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_keys.cpp ${CMAKE_CURRENT_LIST_DIR}/cli_verify.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_inspect.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_status.cpp ${CMAKE_CURRENT_LIST_DIR}/cli_demo.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_provision.cpp)
target_link_libraries(stoa PRIVATE stoa_tools stoa_device_tools)
stoa_warnings(stoa)
