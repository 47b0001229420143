#!/usr/bin/env bash
# setup.sh — the README's set-up commands, for a fresh Debian 12 machine.
#
#   ./setup.sh demo   install what is missing, build, run the demo
#   ./setup.sh test   install what is missing, build, run every test
#   ./setup.sh asan   the same tests under AddressSanitizer + UBSan (CI)
#   ./setup.sh fuzz [SECONDS]   the libFuzzer target with clang (CI)
#
# Works as root and as a user with sudo. Only Debian packages are installed.
set -euo pipefail
cd "$(dirname "$0")"

# What building and testing needs; nothing else.
PACKAGES=(
  g++ cmake ninja-build pkg-config git
  qt6-base-dev libsqlite3-dev libssl-dev
  openssl sqlite3 coreutils
)
FUZZ_PACKAGES=(clang-16 libclang-rt-16-dev)

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
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j"$(nproc)"
}

case "${1:-}" in
  demo)
    install_missing "${PACKAGES[@]}"
    build default
    exec ./build/default/tools/stoa demo --data-dir "${STOA_DEMO_DIR:-$(mktemp -d /tmp/stoa-demo.XXXXXX)}"
    ;;
  test)
    install_missing "${PACKAGES[@]}"
    build default
    ctest --preset default -j2
    ;;
  asan)
    install_missing "${PACKAGES[@]}"
    build asan
    ctest --preset asan -j2
    ;;
  fuzz)
    install_missing "${PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
    exec tests/fuzz/run-fuzz.sh "${2:-60}"
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
