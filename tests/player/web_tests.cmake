# Web items (docs/web.md), included by tests/player/CMakeLists.txt: the real
# player showing pages from a real HTTP server on loopback (tests/harness/loopback_http_server.h),
# under Xvfb like the other pixel tests. Only in a build with web items
# (STOA_WEBENGINE: player/CMakeLists.txt); the `web` option's parsing is
# tested in every build.
stoa_add_test(NAME player_web_options_test SOURCES tst_web_options.cpp LIBS stoa_player LABELS "player;web")

# return() in an included file ends this file only, not tests/player's.
if(NOT STOA_WEB_ENABLED)
  return()
endif()
find_package(Qt6 REQUIRED COMPONENTS Network)

# Built and registered like this folder's other pixel tests (run-xvfb.sh), with
# Qt Network for the test's HTTP server.
# ASAN_OPTIONS: as for the other pixel tests, Mesa, Chromium's host side
# and D-Bus keep allocations until exit that LeakSanitizer reports against no
# code of ours. new_delete_type_mismatch=0: Debian's libQt6WebEngineCore
# (Chromium) frees an 88-byte object through a 24-byte type when a page's
# WebContentsAdapter is destroyed (inside Chromium, no frame of ours); ASan's
# other checks stay on.
# Each runs after cold-start.sh drops the page cache (where allowed): the
# web engine must meet its deadlines from a cold start, as on a device's
# first boot (issue 13).
function(web_xvfb_test test target labels timeout)
  add_test(NAME ${test} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cold-start.sh
           ${CMAKE_CURRENT_SOURCE_DIR}/run-xvfb.sh $<TARGET_FILE:${target}> ${ARGN})
  set_tests_properties(${test} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout})
  set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT
               "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:new_delete_type_mismatch=0")
endfunction()
function(web_pixel_test name source labels timeout)
  add_executable(${name} ${source} player_harness.h)
  target_link_libraries(${name} PRIVATE Qt6::Test Qt6::Network stoa_test_harness stoa_player)
  stoa_warnings(${name})
  web_xvfb_test(${name} ${name} "${labels}" ${timeout})
endfunction()

web_pixel_test(player_web_test tst_web.cpp "player;xvfb;web" 600)
# The first page of a fresh process, cold: firstPage alone.
web_xvfb_test(player_web_cold_test player_web_test "player;xvfb;web" 300 firstPage)

# Many pages in a row (label soak): player + QtWebEngine memory must not grow.
# CTest plays 200 (~2 min under load here); the ASan run leaves soaks out.
web_pixel_test(player_web_soak_test tst_web_soak.cpp "player;xvfb;web;soak" 900)
set_property(TEST player_web_soak_test APPEND PROPERTY ENVIRONMENT STOA_WEB_SOAK_TRANSITIONS=200)
