#!/bin/bash
# packaging/install-test.sh BUILD_DIR — the .deb install test (issue 7).
#
# Builds stoa_<version>_<arch>.deb with CPack in BUILD_DIR and checks it with
# lintian (errors and warnings fail): build-deb.sh. Then installs it on this
# machine with apt (as root: CI machines are throwaway), checks files, conffile, user, store
# directory, units (systemd-analyze verify, and the offline security score),
# runs the binaries as the service user, then purges it and checks that the
# purge removed the user and the store. Exits non-zero on the first failure.
set -euo pipefail
build=$(realpath "${1:?usage: install-test.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo "install-test: $*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (it installs the package on this machine)"
if dpkg -s stoa >/dev/null 2>&1; then fail "stoa is already installed here; purge it first"; fi

# cpack, lintian, the package's files: the same for every architecture.
"$here/build-deb.sh" "$build" || fail "build-deb.sh"
version=$(sed -n 's/^project(stoa VERSION \([0-9.]*\).*/\1/p' "$here/../CMakeLists.txt")
deb="$build/stoa_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "no $deb"

cleanup() { apt-get purge -y -qq stoa >/dev/null 2>&1 || true; }
trap cleanup EXIT
step "apt-get install $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install"

step "installed files, conffile, user, store"
for b in stoa stoa-player stoa-syncd; do [ -x "/usr/bin/$b" ] || fail "/usr/bin/$b"; done
dpkg-query -W -f='${Conffiles}\n' stoa | grep -q '/etc/stoa/stoa.conf' || fail "stoa.conf is not a conffile"
getent passwd stoa >/dev/null || fail "no user stoa"
uid=$(id -u stoa)
[ "$uid" -lt 1000 ] || fail "stoa is not a system user (uid $uid)"
[ "$(getent passwd stoa | cut -d: -f7)" = /usr/sbin/nologin ] || fail "stoa has a login shell"
for g in $(id -nG stoa); do
    case $g in stoa|video|render|input) ;; *) fail "stoa is in group $g";; esac
done
[ "$(stat -c '%U:%a' /var/lib/stoa)" = "stoa:750" ] || fail "/var/lib/stoa is $(stat -c '%U:%a' /var/lib/stoa)"

step "binaries run (as the service user)"
stoa --version | grep -q "stoa $version" || fail "stoa --version"
runuser -u stoa -- stoa-player --version | grep -q "$version" || fail "stoa-player --version"
runuser -u stoa -- stoa-syncd --version | grep -q "$version" || fail "stoa-syncd --version"
man -w stoa-syncd >/dev/null 2>&1 || fail "man page stoa-syncd"
# The shipped configuration is valid (its server line is commented out).
runuser -u stoa -- stoa-syncd --config /etc/stoa/stoa.conf --server https://example.invalid/stoa --check-config \
    || fail "the shipped /etc/stoa/stoa.conf does not load"
# First-boot provisioning, as the unit runs it (root), from a fake boot partition.
boot=$(mktemp -d)
printf 'server = https://signage.example/stoa\nrotation = 90\n' > "$boot/stoa.conf"
stoa provision --boot "$boot" >/dev/null || fail "stoa provision"
grep -q 'rotation = 90' /etc/stoa/stoa.conf || fail "provisioned stoa.conf not installed"
[ -f "$boot/stoa.conf.applied" ] || fail "provisioned stoa.conf not renamed .applied"
rm -rf "$boot"



step "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/stoa-player.service /lib/systemd/system/stoa-syncd.service \
    /lib/systemd/system/stoa-provision.service || fail "systemd-analyze verify"
for u in stoa-syncd stoa-player; do
    score=$(systemd-analyze security --offline=true "/lib/systemd/system/$u.service" 2>/dev/null |
            sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    step "systemd-analyze security $u: exposure $score"
    awk -v s="$score" 'BEGIN { exit !(s != "" && s < 4.0) }' || fail "$u exposure $score is not below 4.0"
done

step "purge"
trap - EXIT
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq stoa >/dev/null || fail "apt-get purge"
! getent passwd stoa >/dev/null || fail "user stoa left after purge"
[ ! -e /var/lib/stoa ] || fail "/var/lib/stoa left after purge"
[ ! -e /usr/bin/stoa-player ] || fail "/usr/bin/stoa-player left after purge"
step "ok"
