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

# The demo's content, made at build time (tools/demo_content.cpp): slides
# drawn with QPainter, a VP8 clip encoded with GStreamer (plugins-good), a
# schedule template; the generator publishes it once with a throw-away key,
# so content that would not publish fails the build. Embedded below as Qt
# resources (:/stoa/demo), so `stoa demo` and `stoa-player --demo` need no
# file beside them. COMMAND names the target, so cross builds run it through
# CMAKE_CROSSCOMPILING_EMULATOR (the arm64 toolchain's qemu; not tried yet).
find_package(Qt6 REQUIRED COMPONENTS Gui)
find_package(PkgConfig REQUIRED)
pkg_check_modules(STOA_DEMO_GST REQUIRED IMPORTED_TARGET gstreamer-1.0 gstreamer-app-1.0)
add_executable(stoa-demo-content
  ${CMAKE_CURRENT_LIST_DIR}/demo_content.h ${CMAKE_CURRENT_LIST_DIR}/demo_content.cpp)
target_include_directories(stoa-demo-content PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(stoa-demo-content PRIVATE stoa_publish Qt6::Gui PkgConfig::STOA_DEMO_GST)
stoa_warnings(stoa-demo-content)
set(STOA_DEMO_CONTENT_DIR ${CMAKE_CURRENT_BINARY_DIR}/demo_content)
set(STOA_DEMO_CONTENT_FILES 1-stoa.png 2-signed.png 3-diagnostics.png 4-publish.png loop.webm schedule.ini)
list(TRANSFORM STOA_DEMO_CONTENT_FILES PREPEND ${STOA_DEMO_CONTENT_DIR}/ OUTPUT_VARIABLE _stoa_demo_outputs)
add_custom_command(OUTPUT ${_stoa_demo_outputs}
  COMMAND stoa-demo-content ${STOA_DEMO_CONTENT_DIR}
  DEPENDS stoa-demo-content
  COMMENT "Making the demo content (slides, a VP8 clip, the schedule) with stoa-demo-content"
  VERBATIM)

# What operators run against a device's store (status) and the end-to-end
# demo: these need the store and the sync agent, publishing does not.
add_library(stoa_device_tools STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store_report.h ${CMAKE_CURRENT_LIST_DIR}/store_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/demo_content.h
  ${CMAKE_CURRENT_LIST_DIR}/demo.h ${CMAKE_CURRENT_LIST_DIR}/demo.cpp
  ${CMAKE_CURRENT_LIST_DIR}/provision.h ${CMAKE_CURRENT_LIST_DIR}/provision.cpp)
target_link_libraries(stoa_device_tools PUBLIC stoa_tools stoa_cache stoa_sync Qt6::Gui)
qt_add_resources(stoa_device_tools stoa_demo_content
  PREFIX /stoa/demo
  BASE ${STOA_DEMO_CONTENT_DIR}
  FILES ${_stoa_demo_outputs})
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
