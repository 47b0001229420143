# tests/arrows/check-arrows.cmake — the module arrows of docs/architecture.md,
# checked on the real tree: every #include of a file of ours names a module
# its file may depend on, and the link closures CMake computed (written at
# configure time by tests/arrows/CMakeLists.txt) reach no forbidden target.
#
#   cmake -DSOURCE_DIR=<repo> -DCLOSURES=<file> [-DRULES=<file>] -P check-arrows.cmake
#
# RULES (default: rules.cmake beside this file) sets, per module folder,
# ALLOW_<module> (include prefixes a file there may use; its own folder is
# always allowed), EXTRA_<module>_<file> (more for one file: a main that
# plugs the edge in), and FORBID_LINK_<target> (targets that must not be in
# that target's link closure). Exits non-zero, naming each violation.
cmake_minimum_required(VERSION 3.25)
if(NOT RULES)
  set(RULES ${CMAKE_CURRENT_LIST_DIR}/rules.cmake)
endif()
include(${RULES})
set(violations 0)

foreach(module IN LISTS MODULES)
  string(REPLACE "/" "_" key ${module})
  file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${module}/*.h ${SOURCE_DIR}/${module}/*.cpp)
  if(NOT files)
    message(SEND_ERROR "module ${module}: no source files (a rule for a folder that is gone?)")
    math(EXPR violations "${violations} + 1")
  endif()
  foreach(f IN LISTS files)
    get_filename_component(base ${f} NAME_WE)
    set(allowed ${module} ${ALLOW_${key}} ${EXTRA_${key}_${base}})
    file(STRINGS ${SOURCE_DIR}/${f} lines REGEX "^#include \"[a-z_]+/")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" target "${line}")
      if(NOT EXISTS ${SOURCE_DIR}/${target})
        continue() # not one of ours (a generated or system header)
      endif()
      set(ok FALSE)
      foreach(prefix IN LISTS allowed)
        if(target STREQUAL prefix OR target MATCHES "^${prefix}/")
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        message(SEND_ERROR "arrow against the flow: ${f} includes ${target} (${module} may include: ${allowed})")
        math(EXPR violations "${violations} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()

include(${CLOSURES}) # CLOSURE_<target> lists
foreach(target IN LISTS LINK_CHECKED)
  if(NOT DEFINED CLOSURE_${target})
    message(SEND_ERROR "no link closure was recorded for ${target}")
    math(EXPR violations "${violations} + 1")
    continue()
  endif()
  foreach(bad IN LISTS FORBID_LINK_${target})
    if(bad IN_LIST CLOSURE_${target})
      message(SEND_ERROR "link arrow against the flow: ${target} reaches ${bad} (its closure: ${CLOSURE_${target}})")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "${violations} arrow(s) against the flow")
endif()
message(STATUS "arrows: every include and link points down the data flow")
