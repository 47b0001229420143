# cmake/precompiled_headers.cmake — two precompiled headers for the whole tree.
#
# Why: CI builds the tree twice (optimised, then sanitizers) on two cores, and
# those builds were two thirds of its time. Most of a translation unit's time
# here is parsing the same ~150,000 lines of libstdc++ (C++23) and QtCore
# before reaching a line of ours (tst_http.cpp: 3.5 s of -fsyntax-only out of
# 4.6 s). Most targets are single-file test executables, so a header per
# target would be compiled as often as it is used: instead one donor target
# compiles it once and every other target loads it (REUSE_FROM). The
# player's files and tests (about 65) parse QtGui, QtQml and QtQuick on top:
# a second header, the first's plus those, saves each of them about 1 s of
# its 4-5 s (player/shell.cpp at -O2: 5.1 s with the first, 3.9 s with the
# second, which costs 18 s once); its donor links Qt6::Quick, and so must
# every target that loads it.
#
# Invariants:
# - What the headers hold is only standard and Qt headers: nothing of
#   ours, so no change in the tree rebuilds it, and no file of ours comes to
#   depend on an include it forgot (each still names its own includes; a
#   build with -DSTOA_PCH=OFF checks that).
# - A target may use one only when its compile flags and the macros the header
#   reads match the donor's: every target of ours linking QtCore, once the
#   whole tree compiles with -pthread (CMakeLists.txt); the second, every
#   target linking QtQuick (the QT_<module>_LIB macros the Qt modules
#   define differ between targets, and no QtCore, QtGui, QtQml or QtQuick
#   header reads one; QtTest's do, so it stays out). CMake adds
#   -Winvalid-pch, so with -Werror a target that stops matching fails the
#   build instead of quietly parsing the text again.
# - GCC 12 loses the system-header mark of libstdc++'s inlined code when it
#   comes from a precompiled header: its false -Warray-bounds on chains of
#   std::string + temporaries then reaches our files at -O2. The three places
#   that had such chains append instead.
# - A target's AUTOMOC file (<target>_autogen/mocs_compilation.cpp) does not
#   load the header when none of the headers AUTOMOC reads for it declares a
#   Q_OBJECT, Q_GADGET or Q_NAMESPACE: the file then holds no code (a test's
#   class is in its .cpp, which includes its own .moc), yet loading the
#   ~150 MB header costs 0.6-0.8 s of CPU where the file alone takes 0.01 s,
#   and about a hundred of the tree's targets are such. A header the scan
#   misses costs time, not correctness: the file then parses its includes.
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
set(_stoa_pch_quick_headers ${_stoa_pch_headers}
  <QtCore/QPointer> <QtCore/QThread> <QtGui/QColor> <QtGui/QGuiApplication>
  <QtGui/QImage> <QtQml/QQmlApplicationEngine> <QtQml/QQmlParserStatus>
  <QtQuick/QQuickImageProvider> <QtQuick/QQuickItem> <QtQuick/QQuickWindow>)

# Whether `target` links `qt` (Qt6::Core, Qt6::Quick), directly or through
# targets of this project.
function(_stoa_links_qt target qt out)
  set(_seen "")
  set(_todo ${target})
  while(_todo)
    list(POP_FRONT _todo _t)
    if(_t IN_LIST _seen OR NOT TARGET ${_t})
      continue()
    endif()
    list(APPEND _seen ${_t})
    if(_t STREQUAL qt)
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
        if(_l MATCHES "^[A-Za-z0-9_:.+-]+$")
          list(APPEND _todo ${_l})
        endif()
      endforeach()
    endif()
  endwhile()
  set(${out} FALSE PARENT_SCOPE)
endfunction()

# AUTOMOC's headers for `target` (CMake's rule: headers among its sources,
# and <dir>/<name>{,_p}.<header extension> beside each source <dir>/<name>.*):
# when none declares a class for moc, its mocs_compilation.cpp is empty and
# skips the precompiled header.
function(_stoa_mocs_skip_pch target)
  get_target_property(_automoc ${target} AUTOMOC)
  if(NOT _automoc)
    return()
  endif()
  get_target_property(_srcdir ${target} SOURCE_DIR)
  get_target_property(_bindir ${target} BINARY_DIR)
  get_target_property(_sources ${target} SOURCES)
  set(_exts h hh h++ hm hpp hxx in txx)
  set(_headers "")
  foreach(_s IN LISTS _sources)
    if(_s MATCHES "\\$<")
      return() # a generator expression: not known here, keep the header
    endif()
    cmake_path(ABSOLUTE_PATH _s BASE_DIRECTORY ${_srcdir} NORMALIZE OUTPUT_VARIABLE _abs)
    cmake_path(GET _abs EXTENSION LAST_ONLY _ext)
    string(REGEX REPLACE "^\\." "" _ext "${_ext}")
    if(_ext IN_LIST _exts)
      list(APPEND _headers ${_abs})
    else()
      cmake_path(REMOVE_EXTENSION _abs LAST_ONLY OUTPUT_VARIABLE _base)
      foreach(_e IN LISTS _exts)
        list(APPEND _headers ${_base}.${_e} ${_base}_p.${_e})
      endforeach()
    endif()
  endforeach()
  foreach(_h IN LISTS _headers)
    if(EXISTS ${_h})
      file(STRINGS ${_h} _moc REGEX "Q_OBJECT|Q_GADGET|Q_NAMESPACE" LIMIT_COUNT 1)
      if(_moc)
        return()
      endif()
    endif()
  endforeach()
  get_target_property(_autogen ${target} AUTOGEN_BUILD_DIR)
  if(NOT _autogen)
    set(_autogen ${_bindir}/${target}_autogen)
  endif()
  set_source_files_properties(${_autogen}/mocs_compilation.cpp TARGET_DIRECTORY ${target}
                              PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
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
  _stoa_targets_under(${PROJECT_SOURCE_DIR} _all)
  # CONFIGURE writes only when the text changes: each re-run of CMake would
  # otherwise recompile the donor's file.
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/stoa_pch.cpp
       CONTENT "// The donor of the shared precompiled headers (cmake/precompiled_headers.cmake).\n")
  foreach(_donor stoa_pch stoa_pch_quick)
    add_library(${_donor} STATIC ${CMAKE_BINARY_DIR}/stoa_pch.cpp)
    # Qt's compile flags (-fPIC for its reduced relocations) come with
    # Qt6::Core; the warnings are every target's (-Wpedantic changes the
    # predefined macros, which GCC compares).
    stoa_warnings(${_donor})
  endforeach()
  target_link_libraries(stoa_pch PRIVATE Qt6::Core)
  target_precompile_headers(stoa_pch PRIVATE ${_stoa_pch_headers})
  find_package(Qt6 QUIET COMPONENTS Quick)
  if(TARGET Qt6::Quick)
    target_link_libraries(stoa_pch_quick PRIVATE Qt6::Quick)
    target_precompile_headers(stoa_pch_quick PRIVATE ${_stoa_pch_quick_headers})
  endif()
  foreach(_t IN LISTS _all)
    get_target_property(_type ${_t} TYPE)
    if(NOT _type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(_sources ${_t} SOURCES)
    list(FILTER _sources INCLUDE REGEX "\\.(cpp|cc|cxx)$")
    if(NOT _sources)
      continue()
    endif()
    _stoa_links_qt(${_t} Qt6::Core _qt)
    if(NOT _qt)
      continue()
    endif()
    set(_donor stoa_pch)
    if(TARGET Qt6::Quick)
      _stoa_links_qt(${_t} Qt6::Quick _quick)
      if(_quick)
        set(_donor stoa_pch_quick)
      endif()
    endif()
    target_precompile_headers(${_t} REUSE_FROM ${_donor})
    _stoa_mocs_skip_pch(${_t})
  endforeach()
endfunction()
