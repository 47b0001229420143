#!/bin/sh
# bench/web_start_bench.sh — the first page of a fresh player process, cold
# and warm, without the web engine's warm-up (the baseline: the behaviour
# before issue 13) and with it, side by side in one run.
#
#   bench/web_start_bench.sh [BUILD_DIR=build/default] [ROUNDS=3]
#
# Each round runs tests/web's player_web_test `firstPage` four ways, each in
# a fresh process under a private Xvfb: {warm-up off, on} x {cold: the page
# cache dropped first (needs root), warm: the same run again at once}. It
# prints what firstPage measures: load-to-ready (the slot takes the page ->
# Ready), when the engine was warm, the part the page's 5 s timer counted,
# and whether the page was shown or skipped. Needs xvfb-run.
set -eu
build=${1:-build/default}
rounds=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
exe=$build/tests/web/player_web_test
[ -x "$exe" ] || { echo "web_start_bench: $exe not built (a build with STOA_WEBENGINE)" >&2; exit 2; }
cold_ok=no
if sync && (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then cold_ok=yes; fi
echo "web_start_bench: $rounds round(s); page cache can be dropped: $cold_ok; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-6s %-5s %s\n' warm-up cache round "figures (ms)"
r=1
while [ "$r" -le "$rounds" ]; do
  for warmup in 0 1; do
    for cache in cold warm; do
      if [ "$cache" = cold ]; then
        [ "$cold_ok" = yes ] || continue
        sync; echo 3 > /proc/sys/vm/drop_caches
      fi
      line=$(STOA_WEB_WARMUP=$warmup "$here/tests/player/run-xvfb.sh" "$exe" firstPage 2>&1 \
               | sed -n 's/.*first page (warm-up [a-z]*): //p' | head -n 1)
      printf '%-8s %-6s %-5s %s\n' "$([ $warmup = 1 ] && echo on || echo off)" "$cache" "$r" "${line:-(no figure: the test failed before printing)}"
    done
  done
  r=$((r + 1))
done
