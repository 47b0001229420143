# packaging/arm64/toolchain.cmake — cross-compile Stoa for Debian 12 arm64
# (Raspberry Pi 4/5) on an amd64 Debian 12 machine (issue 19):
#   compilers   crossbuild-essential-arm64 (aarch64-linux-gnu-gcc/g++ 12)
#   libraries   the arm64 sysroot of packaging/arm64/make-sysroot.sh
#               (STOA_ARM64_DIR, default /var/cache/stoa-arm64; sysroot/ in it)
#   Qt tools    the build machine's own Qt 6.4.2 (moc, rcc, qmlcachegen, ...)
#               through QT_HOST_PATH: the Qt 6 cross-compiling recipe
#   tests       run under qemu-aarch64-static (CMAKE_CROSSCOMPILING_EMULATOR)
# packaging/arm64/build.sh uses it; by hand:
#   cmake -S . -B build/arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=packaging/arm64/toolchain.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT STOA_ARM64_DIR)
  if(DEFINED ENV{STOA_ARM64_DIR})
    set(STOA_ARM64_DIR "$ENV{STOA_ARM64_DIR}")
  else()
    set(STOA_ARM64_DIR /var/cache/stoa-arm64)
  endif()
endif()
set(STOA_ARM64_DIR "${STOA_ARM64_DIR}" CACHE PATH "packaging/arm64/make-sysroot.sh's directory")
if(NOT EXISTS "${STOA_ARM64_DIR}/sysroot/usr/lib/aarch64-linux-gnu")
  message(FATAL_ERROR "no arm64 sysroot in ${STOA_ARM64_DIR}: run packaging/arm64/make-sysroot.sh ${STOA_ARM64_DIR}")
endif()

set(CMAKE_SYSROOT "${STOA_ARM64_DIR}/sysroot")
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Libraries, headers and CMake packages from the sysroot only; programs
# (pkg-config, python3, promtool, ...) from the build machine.
set(CMAKE_FIND_ROOT_PATH "${CMAKE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config reads the sysroot's .pc files and prefixes their paths with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${CMAKE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${CMAKE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${CMAKE_SYSROOT}/usr/share/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})

# Qt's host tools: the build machine's Qt (the same 6.4.2 as the sysroot's).
set(QT_HOST_PATH /usr)
set(QT_HOST_PATH_CMAKE_DIR /usr/lib/x86_64-linux-gnu/cmake)
set(Qt6HostInfo_DIR /usr/lib/x86_64-linux-gnu/cmake/Qt6HostInfo)

# Test executables and what the build runs (tools/stoa.cmake's
# stoa-demo-content draws slides with Qt's offscreen platform and encodes a
# clip with GStreamer) under qemu-user. qemu-user 7.2 finds a library by
# open() in the sysroot (-L) but not a directory or plugin by access() or
# statx(), so Qt's and GStreamer's plugin folders are given by their
# sysroot paths (as packaging/arm64/test.sh does); the GStreamer registry is
# scanned in the process (GST_REGISTRY_FORK=no): its arm64 scanner helper
# could not be started by exec without binfmt.
set(_stoa_arm64_lib "${CMAKE_SYSROOT}/usr/lib/aarch64-linux-gnu")
set(CMAKE_CROSSCOMPILING_EMULATOR env
  "QT_PLUGIN_PATH=${_stoa_arm64_lib}/qt6/plugins"
  "GST_PLUGIN_SYSTEM_PATH=${_stoa_arm64_lib}/gstreamer-1.0" GST_REGISTRY_FORK=no
  qemu-aarch64-static -L "${CMAKE_SYSROOT}")

# What packaging/CMakeLists.txt needs for the .deb: its architecture, and
# where dpkg-shlibdeps finds the arm64 libraries and the dpkg database of
# their packages (make-sysroot.sh's dpkg/).
set(STOA_DEB_ARCH arm64)
set(STOA_DEB_SHLIBDEPS_DIRS "${CMAKE_SYSROOT}/lib/aarch64-linux-gnu" "${CMAKE_SYSROOT}/usr/lib/aarch64-linux-gnu")
set(STOA_DEB_SHLIBDEPS_ADMINDIR "${STOA_ARM64_DIR}/dpkg")
