#!/usr/bin/env bash
# setup.sh — the README's set-up commands, for a fresh Debian 12 machine.
#
#   ./setup.sh demo   install what is missing, build, run the player on its
#                     bundled demo (a layout made at build time: slides, a
#                     video, the time, a ticker; signed at run time; windowed,
#                     or under Xvfb with a screenshot when there is no display)
#   ./setup.sh test   install what is missing, build, run every test but the soaks and alerting
#   ./setup.sh soak   the memory soaks (label soak), outside CI
#   ./setup.sh alerting  the end-to-end alerting tests (label alerting), outside CI
#   ./setup.sh asan   the same tests under AddressSanitizer + UBSan (CI)
#   ./setup.sh fuzz [SECONDS]   the libFuzzer target with clang (CI)
#   ./setup.sh package  build the .deb, lintian, install test on THIS machine (CI)
#   ./setup.sh package-arm64  cross-build build/arm64/stoa_<version>_arm64.deb, lintian
#   ./setup.sh test-arm64     the arm64 build's non-GUI tests and player under qemu-user
#   ./setup.sh image  build the amd64 device image and boot-test it under qemu (label image)
#   ./setup.sh build PRESET   only build (default or asan)
#
# Works as root and as a user with sudo. Only Debian packages are installed.
set -euo pipefail
cd "$(dirname "$0")"

# What building and testing needs; nothing else.
PACKAGES=(
  g++ cmake ninja-build pkg-config git lld
  qt6-base-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev
  qt6-declarative-dev qt6-declarative-dev-tools qt6-multimedia-dev qt6-image-formats-plugins
  qml6-module-qtquick qml6-module-qtquick-window qml6-module-qtqml-workerscript qml6-module-qtmultimedia
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav
  gstreamer1.0-plugins-ugly libgstrtspserver-1.0-dev
  openssl sqlite3 coreutils curl nginx xvfb xauth ffmpeg
  libqrencode-dev libsystemd-dev prometheus dpkg-dev lintian systemd qt6-base-private-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  qt6-webengine-dev qml6-module-qtwebengine
  libmicrohttpd-dev libpq-dev postgresql
  prometheus-alertmanager haproxy chromium chromium-driver python3-selenium firefox-esr
  faketime
)
FUZZ_PACKAGES=(clang-16 libclang-rt-16-dev)
# The arm64 cross build (packaging/arm64/): compilers, the sysroot, qemu-user.
ARM64_PACKAGES=(crossbuild-essential-arm64 mmdebstrap qemu-user-static)
# The device image (packaging/image/) and its boot test (tests/image/):
# mmdebstrap, the partitions' file systems, syslinux, qemu (x86 and, for the
# arm64 image's boot under -M virt, aarch64), mtools to
# provision the boot partition, ssh into the booted image; arch-test lets
# mmdebstrap build the arm64 image (under qemu-user-static, ARM64_PACKAGES).
IMAGE_PACKAGES=(mmdebstrap dosfstools mtools syslinux syslinux-common fdisk e2fsprogs
  qemu-system-x86 qemu-system-arm openssh-client python3 arch-test)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build() {
  local t0=$SECONDS
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j"$(nproc)"
  # CI's budget is mostly builds: say what this one took.
  echo "setup: the $1 build took $((SECONDS - t0)) s"
}

case "${1:-}" in
  demo)
    install_missing "${PACKAGES[@]}"
    build default
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      exec ./build/default/player/stoa-player --demo --windowed
    fi
    # No display: play under Xvfb for 12 s and keep a screenshot of it.
    shot="${STOA_DEMO_SCREENSHOT:-$PWD/stoa-demo.png}"
    xvfb-run -a -s "-screen 0 1280x720x24" env QT_QPA_PLATFORM=xcb \
      ./build/default/player/stoa-player --demo --exit-after 12000 --screenshot "$shot"
    echo "setup: no display here; the demo played under Xvfb, screenshot: $shot (as docs/demo.png)"
    ;;
  test)
    install_missing "${PACKAGES[@]}"
    build default
    # Every test but the memory soaks (label soak: ./setup.sh soak). Their
    # 5 MB bounds over a few hundred transitions failed about one run in ten
    # here (heap and Chromium noise at CTest lengths; issue 13), and a suite
    # that fails at random teaches people to ignore it: soaks run outside CI.
    # So do the end-to-end alerting tests (label alerting: Prometheus,
    # Alertmanager and real processes for minutes; ./setup.sh alerting).
    # The device image boot test (label image: root, minutes under TCG) too:
    # ./setup.sh image.
    ctest --preset default -j2 -LE 'soak|alerting|image'
    ;;
  soak)
    install_missing "${PACKAGES[@]}"
    build default
    # The memory soaks (player, web), one at a time: their RSS readings are
    # the measurement. Longer runs: STOA_SOAK_TRANSITIONS, docs/player.md.
    ctest --preset default -L soak
    ;;
  alerting)
    install_missing "${PACKAGES[@]}"
    build default
    # One at a time: they time alerts against real processes' intervals.
    ctest --preset default -L alerting
    ;;
  asan)
    install_missing "${PACKAGES[@]}"
    build asan
    # The soak's thousands of transitions are for the optimised build; the
    # alerting tests are outside CI in both builds.
    ctest --preset asan -j2 -LE 'soak|alerting|image'
    ;;
  package)
    # The .deb (cpack) from the default build, lintian, then an install test
    # ON THIS MACHINE (apt-get install, checks, purge): for CI and throwaway
    # machines; it needs root.
    install_missing "${PACKAGES[@]}"
    build default
    as_root packaging/install-test.sh build/default
    ;;
  package-arm64)
    # The arm64 .deb cross-built on this amd64 machine against an arm64
    # sysroot of Debian packages (cached in /var/cache/stoa-arm64), lintian
    # as for amd64; installs nothing (packaging/arm64/build.sh).
    install_missing "${PACKAGES[@]}" "${ARM64_PACKAGES[@]}"
    packaging/arm64/build.sh
    ;;
  test-arm64)
    # Outside CI: the non-GUI suites and the player under qemu-user.
    install_missing "${PACKAGES[@]}" "${ARM64_PACKAGES[@]}"
    as_root packaging/arm64/test.sh
    ;;
  image)
    # The amd64 device image from build/default's .deb, booted under qemu
    # (TCG): provisioning, units, screen, layout, watchdog (tests/image/).
    # Needs root (mmdebstrap); downloads are cached in /var/cache/stoa-image.
    # The image stays at build/default/tests/image/work/stoa-amd64.img.
    install_missing "${PACKAGES[@]}" "${IMAGE_PACKAGES[@]}"
    build default
    # '^image$': the full boot test only (image-quick and image-arm64 are
    # labels of their own: tests/image/CMakeLists.txt).
    as_root ctest --preset default -L '^image$'
    ;;
  fuzz)
    install_missing "${PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
    exec tests/fuzz/run-fuzz.sh "${2:-60}"
    ;;
  build)
    case "${2:-}" in default|asan) ;; *) echo "usage: setup.sh build default|asan" >&2; exit 2 ;; esac
    install_missing "${PACKAGES[@]}"
    build "$2"
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
