#!/bin/sh
# packaging/arm64/compile.sh COMPILER ARGS... — the cross build's compiler
# launcher (toolchain.cmake): runs COMPILER with ARGS, except that x86's
# -fcf-protection (added for every target by the top-level CMakeLists.txt,
# unsupported on arm64) becomes arm64's branch protection (BTI + PAC), which
# is what Debian's hardening=+all means there.
compiler=$1; shift
for a in "$@"; do
  shift
  case $a in
    -fcf-protection|-fcf-protection=*) set -- "$@" -mbranch-protection=standard ;;
    *) set -- "$@" "$a" ;;
  esac
done
exec "$compiler" "$@"
