#!/bin/sh
# tests/fuzz/run-fuzz.sh — build and run the libFuzzer target.
# Usage: run-fuzz.sh [seconds=60] [build-dir=<repo>/build-fuzz]
#        seconds 0: build only (CI builds it in the background, .ci/run)
# Configures a separate clang build with -DSTOA_FUZZ=ON, builds only
# fuzz_signed_documents (ASan + LeakSanitizer + UBSan + libFuzzer) and runs it
# on a copy of tests/fuzz/corpus/ (new inputs go to the copy, not the repo).
#
# Compiler: libstdc++ 12's <expected> needs __cpp_concepts >= 202002 (clang
# 16+); clang 14, Debian 12's default, silently lacks std::expected. Debian 12
# ships clang-16 (apt-get install -y clang-16 libclang-rt-16-dev).
set -eu
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-$root/build-fuzz}

cxx=${STOA_FUZZ_CXX:-}
if [ -z "$cxx" ]; then
    for c in clang++-19 clang++-18 clang++-17 clang++-16; do
        if command -v "$c" >/dev/null 2>&1; then cxx=$c; break; fi
    done
fi
if [ -z "$cxx" ]; then
    echo "run-fuzz.sh: need clang++ >= 16 (apt-get install -y clang-16 libclang-rt-16-dev)" >&2
    exit 2
fi
cc=$(echo "$cxx" | sed 's/clang++/clang/')

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DSTOA_FUZZ=ON -DSTOA_WERROR=ON >/dev/null
cmake --build "$build" -j2 --target fuzz_signed_documents
[ "$seconds" = 0 ] && exit 0

work="$build/fuzz-corpus"
mkdir -p "$work" "$build/fuzz-artifacts"
cp "$here"/corpus/* "$work"/
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_signed_documents" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/" "$work"
