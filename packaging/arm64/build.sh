#!/bin/bash
# packaging/arm64/build.sh — the arm64 .deb, cross-built on an amd64 Debian 12
# machine (issue 19; `./setup.sh package-arm64`):
#   1. the arm64 sysroot (make-sysroot.sh; cached in $STOA_ARM64_DIR,
#      default /var/cache/stoa-arm64: a second run does nothing);
#   2. configure build/arm64 with toolchain.cmake and build the package's
#      targets (with --tests LABELS, also the tests of those CTest labels,
#      a regular expression: test.sh);
#   3. build-deb.sh: cpack, lintian, contents -> build/arm64/stoa_<version>_arm64.deb.
# Prints how long each step took. Run as root or with sudo (step 1 only).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=packaging/arm64
build=build/arm64
dir=${STOA_ARM64_DIR:-/var/cache/stoa-arm64}
labels=
[ "${1:-}" = --tests ] && labels=${2:?--tests LABELS}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
t0=$(date +%s)

as_root env STOA_ARM64_SOURCES="${STOA_ARM64_SOURCES:-}" "$here/make-sysroot.sh" "$dir"
t1=$(date +%s)

# The test folders of the non-GUI suites (test.sh); the package needs none.
test_dirs="cache;schedule;sync;tools;endpoints;publish"
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack installs the package's targets
# without building everything (hub, benchmarks, other tests).
# STOA_PCH=OFF: while cmake/precompiled_headers.cmake was in progress, the
# cross compiler refused its header (-Winvalid-pch under -Werror,
# __cpp_runtime_arrays differing); not tried again since it landed.
cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$PWD/$here/toolchain.cmake" \
  -DSTOA_ARM64_DIR="$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DSTOA_PCH=OFF -DSTOA_TEST_DIRS="$test_dirs" >/dev/null
targets=(stoa stoa-player stoa-syncd stoa_package_docs)
if [ -n "$labels" ]; then
  # Each test is an executable of the same name (tests/CMakeLists.txt's
  # stoa_add_test); what a test starts is a dependency of it.
  mapfile -t more < <(ctest --test-dir "$build" -N -L "$labels" | sed -n 's/^ *Test *#[0-9]*: //p')
  targets+=("${more[@]}")
fi
cmake --build "$build" -j2 --target "${targets[@]}"
t2=$(date +%s)

packaging/build-deb.sh "$build"
t3=$(date +%s)
echo "arm64: sysroot $((t1 - t0)) s, cross build $((t2 - t1)) s, package + lintian $((t3 - t2)) s"
