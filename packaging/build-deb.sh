#!/bin/bash
# packaging/build-deb.sh BUILD_DIR — makes stoa_<version>_<arch>.deb with
# CPack in BUILD_DIR and checks it: lintian (errors and warnings fail) and
# the files the package must hold. <arch> is the build tree's: this
# machine's, or a cross build's target (packaging/arm64/). Needs no root.
# Used by install-test.sh (amd64, then installed here) and by
# packaging/arm64/build.sh (arm64). Exits non-zero on the first failure.
set -euo pipefail
build=$(realpath "${1:?usage: build-deb.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "build-deb: FAIL: $*" >&2; exit 1; }
step() { echo "build-deb: $*"; }

step "cpack -G DEB in $build"
(cd "$build" && cpack -G DEB >/dev/null)
version=$(sed -n 's/^project(stoa VERSION \([0-9.]*\).*/\1/p' "$here/../CMakeLists.txt")
arch=$(sed -n 's/^set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
deb="$build/stoa_${version}_${arch}.deb"
[ -f "$deb" ] || fail "no $deb"
step "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

step "lintian"
lintian --fail-on error,warning --tag-display-limit 0 "$deb" || fail "lintian found errors or warnings"

step "dpkg-deb contents"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/stoa ./usr/bin/stoa-player ./usr/bin/stoa-syncd ./etc/stoa/stoa.conf \
         ./lib/systemd/system/stoa-player.service ./lib/systemd/system/stoa-syncd.service \
         ./lib/systemd/system/stoa-provision.service ./usr/share/doc/stoa/copyright \
         ./usr/share/doc/stoa/changelog.gz ./usr/share/man/man1/stoa-player.1.gz; do
    grep -q " $f\$" <<<"$contents" || fail "$f missing from the package"
done
step "ok: $deb"
