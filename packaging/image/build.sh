#!/bin/bash
# packaging/image/build.sh --arch amd64|arm64 --out FILE [--deb PATH]
#
# A bootable Stoa device disk image from Debian bookworm packages alone
# (mmdebstrap from this machine's Debian mirror; nothing else is downloaded),
# with the stoa .deb installed by apt. Issue 19; docs/operations.md §"The
# device image".
#
# Layout (MBR, disk id 0x5354a001, so the partitions are PARTUUID 5354a001-0N):
#   1  FAT32 "STOA-BOOT", 256 MiB, /boot/firmware, read-write: the boot
#      files (amd64: syslinux, vmlinuz, initrd.img; arm64: the Pi firmware,
#      config.txt, cmdline.txt, DTBs, kernel, initrd) and the first-boot
#      provisioning files (stoa.conf, stoa-root.pub, stoa-token, stoa-ssh.pub).
#   2  ext4 "stoa-root", the root file system, mounted read-only.
#   3  ext4 "stoa-data", /data, grown to the end of the disk on first boot
#      (stoa-grow-data.service). It holds what must be written: the store
#      (/var/lib/stoa), /etc/stoa (provisioning writes there), the persistent
#      journal (capped 64 MiB), /var/lib/systemd (timesyncd's clock, the random
#      seed) and SSH keys. /var/log (but the journal), /tmp, /var/tmp: tmpfs.
# No console login (getty masked: the player owns tty1), SSH off unless the
# boot partition carries stoa-ssh.pub, systemd-networkd (DHCP),
# systemd-resolved, systemd-timesyncd. (systemd-resolved points the root's
# resolv.conf at its stub, which no chroot has: the host's is copied in for
# the install of the stoa .deb, and customize.sh links the stub back.)
#
# Needs root (mmdebstrap's root mode keeps owners; mkfs.ext4 -d copies them).
# Downloaded .debs are kept in /var/cache/stoa-image/<arch> (STOA_IMAGE_CACHE)
# so a second build downloads nothing but the package lists.
# --deb defaults to build/default/stoa_<version>_amd64.deb (./setup.sh
# package) or build/arm64/stoa_<version>_arm64.deb (./setup.sh package-arm64).
# Prints the image size and the build time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fail() { echo "image: FAIL: $*" >&2; exit 1; }
step() { echo "image: $*"; }
usage() { echo "usage: build.sh --arch amd64|arm64 --out FILE [--deb PATH]" >&2; exit 2; }

# The second run, in the namespace below: wait for the uid map (root there).
if [ -n "${STOA_IMAGE_IN_NS:-}" ]; then
  while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.02; done
fi
arch= out= deb=
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --deb) deb=${2:-}; shift 2 ;;
    *) usage ;;
  esac
done
case $arch in amd64|arm64) ;; *) usage ;; esac
[ -n "$out" ] || usage
[ "$(id -u)" -eq 0 ] || fail "needs root (mmdebstrap root mode, file owners in the image)"
version=$(sed -n 's/^project(stoa VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
if [ -z "$deb" ]; then
  case $arch in
    amd64) deb=$repo/build/default/stoa_${version}_amd64.deb ;;
    arm64) deb=$repo/build/arm64/stoa_${version}_arm64.deb ;;
  esac
fi
[ -f "$deb" ] || fail "no $deb (./setup.sh package, or package-arm64, builds it; or give --deb)"
deb=$(realpath "$deb")
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "$deb is not an $arch package"
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk; do
  command -v "$tool" >/dev/null || fail "$tool missing (./setup.sh image installs IMAGE_PACKAGES)"
done
if [ "$arch" = amd64 ]; then
  [ -f /usr/lib/syslinux/mbr/mbr.bin ] && command -v syslinux >/dev/null || fail "syslinux missing"
elif [ "$(dpkg --print-architecture)" != arm64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  # The arm64 packages' maintainer scripts run under qemu-user, by binfmt.
  # Where the machine has no qemu-aarch64 entry (binfmt_misc not mounted, as
  # on machines without systemd), this script runs again in a user, mount
  # and PID namespace of its own (every uid and gid mapped to itself, so
  # file owners are the real ones) with qemu-aarch64-static registered in
  # that namespace's binfmt_misc (Linux >= 6.7: one per user namespace), as
  # packaging/arm64/test.sh does: nothing is registered on the machine.
  # mmdebstrap's root mode works there (it bind-mounts /dev's nodes when it
  # cannot mknod). STOA_IMAGE_IN_NS marks the second run.
  [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ] || fail "no qemu-aarch64 binfmt entry (qemu-user-static)"
  if [ -z "${STOA_IMAGE_IN_NS:-}" ]; then
    STOA_IMAGE_IN_NS=1 unshare --user --mount --propagation private --pid --fork --mount-proc -- \
      "$0" --arch "$arch" --out "$out" --deb "$deb" &
    child=$!
    while [ "$(readlink /proc/$child/ns/user)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.02; done
    echo '0 0 4294967295' >/proc/$child/uid_map
    echo '0 0 4294967295' >/proc/$child/gid_map
    wait $child
    exit
  fi
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  # Debian's own entry; flag F opens the interpreter now, so it runs in the chroot.
  cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
fi

start=$(date +%s)
cache=${STOA_IMAGE_CACHE:-/var/cache/stoa-image}/$arch
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/stoa-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

disk_id=5354a001
boot_mib=256
data_mib=64

# What the device runs besides stoa and its dependencies (apt adds those
# from the .deb's Depends). Mesa: eglfs over KMS renders with llvmpipe
# (kms_swrast) where the GPU has no driver of its own (a VM's std VGA); the
# Pi's V3D is in the same libgl1-mesa-dri.
packages=(
  systemd systemd-sysv udev dbus systemd-timesyncd systemd-resolved
  initramfs-tools zstd kmod e2fsprogs fdisk util-linux ca-certificates
  libegl-mesa0 libgl1-mesa-dri libgbm1 fonts-dejavu-core openssh-server
)
components=main
case $arch in
  amd64) packages+=(linux-image-amd64) ;;
  # raspi-firmware (the Pi's boot firmware, config.txt/cmdline.txt writer)
  # is in bookworm's non-free-firmware component, also on Debian's mirror.
  arm64) packages+=(linux-image-arm64 raspi-firmware); components="main non-free-firmware" ;;
esac
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

step "mmdebstrap bookworm $arch (cache $cache)"

# Documentation and translations are not needed on a screen (copyrights are kept).
mmdebstrap --mode=root --variant=minbase --architectures="$arch" \
  --components="$(echo "$components" | tr ' ' ',')" \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --skip=essential/unlink \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-include=/usr/share/doc/stoa/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives "$1"/boot/firmware' \
  --setup-hook="sync-in $cache /var/cache/apt/archives/" \
  --customize-hook="copy-in $deb /tmp" \
  --customize-hook='rm -f "$1/etc/resolv.conf" && cp /etc/resolv.conf "$1/etc/resolv.conf"' \
  --customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/$(basename "$deb")" \
  --customize-hook="rm -f \"\$1/tmp/$(basename "$deb")\"" \
  --customize-hook="sync-out /var/cache/apt/archives $cache" \
  --customize-hook="$here/customize.sh \"\$1\" $arch $disk_id" \
  bookworm "$root" "$mirror" >"$work/mmdebstrap.log" 2>&1 || { tail -40 "$work/mmdebstrap.log" >&2; fail "mmdebstrap"; }
step "root file system: $(du -sh "$root" | cut -f1) ($(ls "$cache" | wc -l) packages cached)"

# The boot partition's files: moved out of the root's /boot/firmware
# (raspi-firmware's hooks fill it on arm64; customize.sh on amd64).
mkdir -p "$work/boot" "$work/data"
mv "$root"/boot/firmware/* "$work/boot/" 2>/dev/null || true
[ -n "$(ls -A "$work/boot")" ] || fail "no boot files"
# The data partition's first contents (customize.sh staged them).
mv "$root/.stoa-data"/* "$work/data/"
rmdir "$root/.stoa-data"

step "file systems"
root_mib=$(( $(du -sm "$root" | cut -f1) * 115 / 100 + 64 ))
truncate -s $((boot_mib))M "$work/boot.img"
mkfs.vfat -F 32 -n STOA-BOOT -i "${disk_id}" "$work/boot.img" >/dev/null
mcopy -s -i "$work/boot.img" "$work/boot"/* ::/
if [ "$arch" = amd64 ]; then
  syslinux --install "$work/boot.img"
fi
# Fixed UUIDs and no reserved blocks for root on the read-only root; the
# data partition keeps 1 % for root-run services (journal) when stoa fills it;
# 4 KiB blocks and the default inode ratio as for the card it grows to, not
# the 64 MiB it starts at (mke2fs would pick 1 KiB blocks for that).
mkfs.ext4 -q -L stoa-root -m 0 -O ^has_journal -d "$root" "$work/root.img" "${root_mib}M"
mkfs.ext4 -q -L stoa-data -m 1 -b 4096 -T default -d "$work/data" "$work/data.img" "${data_mib}M"

step "disk"
# Offsets in 512-byte sectors; partitions aligned to 1 MiB.
p1=2048
p2=$((p1 + boot_mib * 2048))
p3=$((p2 + root_mib * 2048))
total_sectors=$((p3 + data_mib * 2048))
rm -f "$out"
truncate -s $((total_sectors * 512)) "$out"
sfdisk -q "$out" <<EOF
label: dos
label-id: 0x${disk_id}
unit: sectors

start=${p1}, size=$((boot_mib * 2048)), type=c, bootable
start=${p2}, size=$((root_mib * 2048)), type=83
start=${p3}, size=$((data_mib * 2048)), type=83
EOF
dd if="$work/boot.img" of="$out" bs=1M seek=$((p1 / 2048)) conv=notrunc,sparse status=none
dd if="$work/root.img" of="$out" bs=1M seek=$((p2 / 2048)) conv=notrunc,sparse status=none
dd if="$work/data.img" of="$out" bs=1M seek=$((p3 / 2048)) conv=notrunc,sparse status=none
if [ "$arch" = amd64 ]; then
  # syslinux's MBR boot code: loads the active partition's boot sector.
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$out" bs=440 count=1 conv=notrunc status=none
fi

end=$(date +%s)
size_mib=$(( $(stat -c %s "$out") / 1048576 ))
used_mib=$(( $(du -k "$out" | cut -f1) / 1024 ))
step "figure: image $out: ${size_mib} MiB (${used_mib} MiB allocated; boot ${boot_mib}, root ${root_mib}, data ${data_mib} MiB before growing)"
step "figure: build time $((end - start)) s"
