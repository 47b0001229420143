#!/usr/bin/env bash
# bench/build_time_bench.sh — what the shared precompiled header
# (cmake/precompiled_headers.cmake) saves: the same targets built from
# scratch with STOA_PCH=ON and with the baseline STOA_PCH=OFF, in one run,
# CPU seconds (user + sys: what two cores must do, less sensitive than wall
# time to other work on the machine) and wall seconds side by side.
#
#   bench/build_time_bench.sh [--preset default|asan] [--targets "T1 T2 …"] [--dir DIR]
#                             [--vary pch|debuginfo|linker]
#
# --vary debuginfo instead compares, both with the header, full debug
# information (-g, the baseline: CMake's own flags for the build type) with
# the presets' line tables only (-g1; CMakePresets.json).
# --vary linker compares the links alone: one tree is built (not timed),
# its executables are deleted and linked again with GNU ld (the baseline,
# STOA_LINKER=bfd), then the tree is reconfigured with STOA_LINKER=lld,
# which changes every link line and nothing else, and linked again.
#
# Without --targets it builds everything (`all`). Each variant gets a fresh
# build directory under DIR (default /tmp/stoa-build-time), deleted at the
# end. Needs GNU time (/usr/bin/time, Debian `time`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=default targets=all dir=/tmp/stoa-build-time vary=pch
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --vary) vary=$2; shift 2 ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
case "$preset" in
  default) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) g1=(-O2 -g1 -DNDEBUG) type=RELWITHDEBINFO ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DSTOA_SANITIZE=ON -DSTOA_BENCH=OFF) g1=(-g1) type=DEBUG ;;
  *) echo "build_time_bench: --preset default or asan" >&2; exit 2 ;;
esac
# Two variants, A the baseline: their names and extra configure arguments.
case "$vary" in
  pch) names=("STOA_PCH=OFF" "STOA_PCH=ON") a_args=(-DSTOA_PCH=OFF) b_args=(-DSTOA_PCH=ON) ;;
  debuginfo) names=("-g" "-g1") a_args=(-DSTOA_PCH=ON)
    b_args=(-DSTOA_PCH=ON "-DCMAKE_CXX_FLAGS_$type=${g1[*]}" "-DCMAKE_C_FLAGS_$type=${g1[*]}") ;;
  linker) names=("GNU ld" "lld") a_args=(-DSTOA_LINKER=bfd) b_args=(-DSTOA_LINKER=lld) ;;
  *) echo "build_time_bench: --vary pch, debuginfo or linker" >&2; exit 2 ;;
esac
[ -x /usr/bin/time ] || { echo "build_time_bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

declare -A result
# `timed DIR V`: builds the targets in DIR under GNU time into result[V].
timed() {
  # shellcheck disable=SC2086 # targets is a word list
  /usr/bin/time -o "$1.time" -f "%U %S %e" cmake --build "$1" -j"$(nproc)" --target $targets >/dev/null
  read -r user sys wall <"$1.time"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
  result[$2]="$cpu ${wall%.*}"
  rm -f "$1.time"
}
if [ "$vary" = linker ]; then
  b="$dir/variant-linker"
  rm -rf "$b"
  cmake -S "$root" -B "$b" -G Ninja "${flags[@]}" "${a_args[@]}" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$b" -j"$(nproc)" --target $targets >/dev/null
  # Every output a link rule makes (executables, shared objects), deleted.
  ninja -C "$b" -t targets all | awk -F': ' '$2 ~ /_(EXECUTABLE|SHARED_LIBRARY|MODULE)_LINKER/ { print $1 }' |
    (cd "$b" && xargs -r rm -f)
  timed "$b" A
  cmake -S "$root" -B "$b" "${b_args[@]}" >/dev/null
  timed "$b" B
  rm -rf "$b"
fi
for v in A B; do
  [ "$vary" = linker ] && break
  b="$dir/variant-$v"
  rm -rf "$b"
  if [ "$v" = A ]; then args=("${a_args[@]}"); else args=("${b_args[@]}"); fi
  cmake -S "$root" -B "$b" -G Ninja "${flags[@]}" "${args[@]}" >/dev/null
  timed "$b" "$v"
  rm -rf "$b"
done
read -r a_cpu a_wall <<<"${result[A]}"
read -r b_cpu b_wall <<<"${result[B]}"
echo "build_time_bench: preset $preset, targets: $targets, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %10s %10s\n' "" "cpu s" "wall s"
printf '%-22s %10s %10s\n' "${names[0]} (baseline)" "$a_cpu" "$a_wall"
printf '%-22s %10s %10s\n' "${names[1]}" "$b_cpu" "$b_wall"
awk -v a="$a_cpu" -v b="$b_cpu" -v c="$a_wall" -v d="$b_wall" -v n="${names[1]} / ${names[0]}" \
  'BEGIN { printf "%-22s %9.2fx %9.2fx\n", n, b / a, d / c }'
