#!/bin/bash
# packaging/arm64/make-sysroot.sh DIR — the arm64 sysroot the cross build
# compiles against and the tests run in under qemu-user (issue 19).
#
# DIR/sysroot: Debian bookworm arm64 packages only, from this machine's
# configured Debian mirror (/etc/apt/sources.list.d/debian.sources), made
# with `mmdebstrap --variant=extract`: the packages are unpacked, no
# maintainer script runs (so no qemu is needed to make it), merged /usr as
# bookworm has it. Absolute symbolic links are made relative so they resolve
# inside the sysroot.
# DIR/dpkg: a dpkg database of those packages whose file lists name the
# files at their sysroot paths, for dpkg-shlibdeps (run by CPack) to map the
# arm64 libraries to their packages and read their symbols files
# (DPKG_ADMINDIR, see build.sh). It is only for that: nothing installs with it.
#
# Cached: a second run with the same package list and DIR does nothing.
# Needs root (mmdebstrap's root mode keeps the files' owners and modes).
set -euo pipefail
dir=${1:?usage: make-sysroot.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)

# What the cross build links against (the arm64 side of setup.sh's
# PACKAGES: compiler runtime and -dev packages), then what the tests and the
# player need at run time under qemu (the .deb's run-time dependencies, the
# offscreen platform plugin, a font).
PACKAGES=(
  libc6-dev libstdc++-12-dev
  qt6-base-dev qt6-base-private-dev qt6-declarative-dev qt6-multimedia-dev qt6-webengine-dev
  libsqlite3-dev libssl-dev libcurl4-openssl-dev libqrencode-dev libsystemd-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libmicrohttpd-dev libpq-dev
  qt6-qpa-plugins qml6-module-qtquick qml6-module-qtquick-window qml6-module-qtqml-workerscript
  qml6-module-qtmultimedia qml6-module-qtwebengine qt6-image-formats-plugins libqt6opengl6
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good fonts-dejavu-core
)
sources=${STOA_ARM64_SOURCES:-/etc/apt/sources.list.d/debian.sources}
[ -f "$sources" ] || { echo "make-sysroot: no $sources (set STOA_ARM64_SOURCES)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(realpath "$dir")
stamp_want=$(printf '%s\n' "$dir" "${PACKAGES[@]}" | cat - "$sources" "$0" | sha256sum | cut -d' ' -f1)
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp_want" ]; then
  echo "make-sysroot: $dir/sysroot is up to date"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "make-sysroot: needs root" >&2; exit 1; }

rm -rf "$dir/sysroot" "$dir/dpkg" "$dir/stamp" "$dir/debs"
mkdir -p "$dir/debs"
start=$(date +%s)
# The extract hook keeps the downloaded .debs for the dpkg database below.
mmdebstrap --variant=extract --architectures=arm64 --mode=root \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
  --extract-hook="cp -a \"\$1\"/var/cache/apt/archives/*.deb '$dir/debs/'" \
  bookworm "$dir/sysroot" "$sources"
rm -f "$dir"/sysroot/var/cache/apt/archives/*.deb

# Absolute links (e.g. /usr/lib/aarch64-linux-gnu/libfoo.so -> /lib/...)
# would point into the build machine: make them relative to their place.
# (/dev's links to /proc stay as they are.)
find "$dir/sysroot" -path "$dir/sysroot/dev" -prune -o -type l -lname '/*' -print0 |
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir/sysroot$target")" "$link"
done

# The dpkg database for dpkg-shlibdeps: status, file lists at sysroot paths,
# shlibs and symbols files, as dpkg itself would have written them.
admin="$dir/dpkg"
mkdir -p "$admin/info" "$admin/updates" "$admin/triggers"
printf 'amd64\narm64\n' > "$admin/arch"
echo 1 > "$admin/info/format"
: > "$admin/status"; : > "$admin/available"; : > "$admin/diversions"; : > "$admin/statoverride"
ctl=$(mktemp -d)
for deb in "$dir"/debs/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  name=$pkg
  [ "$(dpkg-deb -f "$deb" Multi-Arch)" = same ] && name="$pkg:$(dpkg-deb -f "$deb" Architecture)"
  { echo "Package: $pkg"; echo "Status: install ok installed"
    dpkg-deb -f "$deb" | grep -v '^Package:'; echo; } >> "$admin/status"
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' -e '/^$/d' |
    sed "s|^/|$dir/sysroot/|; s|^$dir/sysroot/\.\?\$|/|" > "$admin/info/$name.list"
  rm -rf "$ctl"/*; dpkg-deb -e "$deb" "$ctl"
  for f in shlibs symbols; do [ -f "$ctl/$f" ] && cp "$ctl/$f" "$admin/info/$name.$f"; done
done
rm -rf "$ctl" "$dir/debs"

echo "$stamp_want" > "$dir/stamp"
echo "make-sysroot: $dir/sysroot made in $(( $(date +%s) - start )) s ($(du -sh "$dir/sysroot" | cut -f1))"
