#!/bin/sh
# bench/web_start_bench.sh — the first page of a fresh player process,
# without the web engine's warm-up (the baseline: the behaviour before
# issue 13) and with it, side by side in one run.
#
#   bench/web_start_bench.sh [BUILD_DIR=build/default] [ROUNDS=3]
#
# Each round runs tests/player's player_web_test `firstPage` in a fresh process
# under a private Xvfb, for {warm-up off, on} x {cold: the page cache dropped
# first (needs root); warm: the same run again at once} x {idle machine;
# busy: two busy loops hold both cores, as the test suite's -j2 does}. It
# prints what firstPage measures, in ms from the process's start: when a
# slot took the page, when the engine was warm, load-to-ready, and the part
# the page's 5 s timer counted (what decides "not ready within 5000 ms"),
# and whether the page was shown or skipped. Needs xvfb-run.
set -eu
build=${1:-build/default}
rounds=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
exe=$build/tests/player/player_web_test
[ -x "$exe" ] || { echo "web_start_bench: $exe not built (a build with STOA_WEBENGINE)" >&2; exit 2; }
cold_ok=no
if sync && (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then cold_ok=yes; fi
busy_pids=""
stop_busy() { for p in $busy_pids; do kill "$p" 2>/dev/null || true; done; busy_pids=""; }
trap stop_busy EXIT INT TERM
echo "web_start_bench: $rounds round(s); page cache can be dropped: $cold_ok; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-6s %-5s %-5s %s\n' warm-up cache load round "figures"
r=1
while [ "$r" -le "$rounds" ]; do
  for load in idle busy; do
    for warmup in 0 1; do
      for cache in cold warm; do
        if [ "$cache" = cold ]; then
          [ "$cold_ok" = yes ] || continue
          sync; echo 3 > /proc/sys/vm/drop_caches
        fi
        if [ "$load" = busy ]; then
          # Bounded: killed right after this run (and on exit).
          for _ in 1 2; do timeout 120 sh -c 'while :; do :; done' & busy_pids="$busy_pids $!"; done
        fi
        line=$(STOA_WEB_WARMUP=$warmup "$here/tests/player/run-xvfb.sh" "$exe" firstPage 2>&1 \
                 | sed -n 's/.*first page (warm-up [a-z]*): //p' | head -n 1)
        stop_busy
        printf '%-8s %-6s %-5s %-5s %s\n' "$([ $warmup = 1 ] && echo on || echo off)" "$cache" "$load" "$r" \
          "${line:-(no figure: the test failed before printing)}"
      done
    done
  done
  r=$((r + 1))
done
