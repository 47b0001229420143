# cmake/precompiled_headers.cmake — one precompiled header for the whole tree.
#
# Why: CI builds the tree twice (optimised, then sanitizers) on two cores, and
# those builds were two thirds of its time. Most of a translation unit's time
# here is parsing the same ~150,000 lines of libstdc++ (C++23) and QtCore
# before reaching a line of ours (tst_http.cpp: 3.5 s of -fsyntax-only out of
# 4.6 s). Most targets are single-file test executables, so a header per
# target would be compiled as often as it is used: instead one donor target
# compiles it once and every other target loads it (REUSE_FROM).
#
# Invariants:
# - What the header holds is only standard and QtCore headers: nothing of
#   ours, so no change in the tree rebuilds it, and no file of ours comes to
#   depend on an include it forgot (each still names its own includes; a
#   build with -DSTOA_PCH=OFF checks that).
# - A target may use it only when its compile flags and the macros the header
#   reads match the donor's: every target of ours linking QtCore, once the
#   whole tree compiles with -pthread (CMakeLists.txt). CMake adds
#   -Winvalid-pch, so with -Werror a target that stops matching fails the
#   build instead of quietly parsing the text again.
# - GCC 12 loses the system-header mark of libstdc++'s inlined code when it
#   comes from a precompiled header: its false -Warray-bounds on chains of
#   std::string + temporaries then reaches our files at -O2. The three places
#   that had such chains append instead.
# -DSTOA_PCH=OFF builds without it: each file then parses its own includes,
# which shows an include a file forgot (the header no longer supplies it).
option(STOA_PCH "Precompile libstdc++ and QtCore headers once for every target" ON)

set(_stoa_pch_headers
  <algorithm> <array> <atomic> <charconv> <chrono> <condition_variable> <cstdint>
  <cstdio> <cstring> <deque> <expected> <filesystem> <functional> <limits> <map>
  <memory> <mutex> <optional> <random> <set> <span> <string> <string_view>
  <thread> <utility> <variant> <vector>
  <QtCore/QByteArray> <QtCore/QCoreApplication> <QtCore/QDateTime> <QtCore/QDir>
  <QtCore/QElapsedTimer> <QtCore/QFile> <QtCore/QFileInfo> <QtCore/QJsonArray>
  <QtCore/QJsonDocument> <QtCore/QJsonObject> <QtCore/QLoggingCategory>
  <QtCore/QObject> <QtCore/QProcess> <QtCore/QRegularExpression> <QtCore/QString>
  <QtCore/QStringList> <QtCore/QTemporaryDir> <QtCore/QTimeZone> <QtCore/QTimer>
  <QtCore/QUrl>)

# Whether `target` links QtCore, directly or through targets of this project.
function(_stoa_links_qtcore target out)
  set(_seen "")
  set(_todo ${target})
  while(_todo)
    list(POP_FRONT _todo _t)
    if(_t IN_LIST _seen OR NOT TARGET ${_t})
      continue()
    endif()
    list(APPEND _seen ${_t})
    if(_t STREQUAL "Qt6::Core")
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
    get_target_property(_imported ${_t} IMPORTED)
    if(_imported)
      get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
    else()
      get_target_property(_libs ${_t} LINK_LIBRARIES)
    endif()
    if(_libs)
      foreach(_l IN LISTS _libs)
        # Qt's own links are written as generator expressions around
        # Qt6::Core; only plain names are followed.
        if(_l MATCHES "^Qt6::Core$|^[A-Za-z0-9_:.+-]+$")
          list(APPEND _todo ${_l})
        endif()
      endforeach()
    endif()
  endwhile()
  set(${out} FALSE PARENT_SCOPE)
endfunction()

function(_stoa_targets_under dir out)
  get_property(_targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(_subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(_s IN LISTS _subdirs)
    _stoa_targets_under(${_s} _more)
    list(APPEND _targets ${_more})
  endforeach()
  set(${out} ${_targets} PARENT_SCOPE)
endfunction()

# Called once, after every target of the tree exists.
function(stoa_precompile_headers)
  # GCC only: clang compares more of the command line than GCC does, and its
  # only user here, the fuzz build, is a handful of files.
  if(NOT STOA_PCH OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    return()
  endif()
  set(_donor stoa_pch)
  # CONFIGURE writes only when the text changes: each re-run of CMake would
  # otherwise recompile the donor's file.
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/stoa_pch.cpp
       CONTENT "// The donor of the shared precompiled header (cmake/precompiled_headers.cmake).\n")
  add_library(${_donor} STATIC ${CMAKE_BINARY_DIR}/stoa_pch.cpp)
  target_link_libraries(${_donor} PRIVATE Qt6::Core)
  # Qt's compile flags (-fPIC for its reduced relocations) come with
  # Qt6::Core; the warnings are every target's (-Wpedantic changes the
  # predefined macros, which GCC compares).
  stoa_warnings(${_donor})
  target_precompile_headers(${_donor} PRIVATE ${_stoa_pch_headers})
  _stoa_targets_under(${PROJECT_SOURCE_DIR} _all)
  foreach(_t IN LISTS _all)
    if(_t STREQUAL _donor)
      continue()
    endif()
    get_target_property(_type ${_t} TYPE)
    if(NOT _type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(_sources ${_t} SOURCES)
    list(FILTER _sources INCLUDE REGEX "\\.(cpp|cc|cxx)$")
    if(NOT _sources)
      continue()
    endif()
    _stoa_links_qtcore(${_t} _qt)
    if(NOT _qt)
      continue()
    endif()
    target_precompile_headers(${_t} REUSE_FROM ${_donor})
  endforeach()
endfunction()
