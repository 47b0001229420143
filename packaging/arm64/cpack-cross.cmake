# packaging/arm64/cpack-cross.cmake — read by cpack in a cross build tree
# (CPACK_PROJECT_CONFIG_FILE, packaging/CMakeLists.txt). dpkg-shlibdeps, which
# CPack runs for the Depends line, inherits this environment: the host
# architecture it computes dependencies for (so it reads the binaries with
# ${triplet}-objdump and arm64's symbols files), and the dpkg database of the
# sysroot's packages (make-sysroot.sh) instead of the build machine's.
set(ENV{DEB_HOST_ARCH} "${CPACK_DEBIAN_PACKAGE_ARCHITECTURE}")
set(ENV{DPKG_ADMINDIR} "${CPACK_STOA_DPKG_ADMINDIR}")
