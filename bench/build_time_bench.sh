#!/usr/bin/env bash
# bench/build_time_bench.sh — what the shared precompiled header
# (cmake/precompiled_headers.cmake) saves: the same targets built from
# scratch with STOA_PCH=ON and with the baseline STOA_PCH=OFF, in one run,
# CPU seconds (user + sys: what two cores must do, less sensitive than wall
# time to other work on the machine) and wall seconds side by side.
#
#   bench/build_time_bench.sh [--preset default|asan] [--targets "T1 T2 …"] [--dir DIR]
#
# Without --targets it builds everything (`all`). Each variant gets a fresh
# build directory under DIR (default /tmp/stoa-build-time), deleted at the
# end. Needs GNU time (/usr/bin/time, Debian `time`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=default targets=all dir=/tmp/stoa-build-time
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
case "$preset" in
  default) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DSTOA_SANITIZE=ON -DSTOA_BENCH=OFF) ;;
  *) echo "build_time_bench: --preset default or asan" >&2; exit 2 ;;
esac
[ -x /usr/bin/time ] || { echo "build_time_bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

declare -A result
for pch in OFF ON; do
  b="$dir/pch-$pch"
  rm -rf "$b"
  cmake -S "$root" -B "$b" -G Ninja "${flags[@]}" -DSTOA_PCH=$pch >/dev/null
  # shellcheck disable=SC2086 # targets is a word list
  /usr/bin/time -o "$b.time" -f "%U %S %e" cmake --build "$b" -j"$(nproc)" --target $targets >/dev/null
  read -r user sys wall <"$b.time"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
  result[$pch]="$cpu ${wall%.*}"
  rm -rf "$b" "$b.time"
done
read -r off_cpu off_wall <<<"${result[OFF]}"
read -r on_cpu on_wall <<<"${result[ON]}"
echo "build_time_bench: preset $preset, targets: $targets, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %10s %10s\n' "" "cpu s" "wall s"
printf '%-22s %10s %10s\n' "STOA_PCH=OFF (baseline)" "$off_cpu" "$off_wall"
printf '%-22s %10s %10s\n' "STOA_PCH=ON" "$on_cpu" "$on_wall"
awk -v a="$off_cpu" -v b="$on_cpu" -v c="$off_wall" -v d="$on_wall" \
  'BEGIN { printf "%-22s %9.2fx %9.2fx\n", "ON / OFF", b / a, d / c }'
