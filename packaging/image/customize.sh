#!/bin/bash
# packaging/image/customize.sh ROOT ARCH DISK_ID — mmdebstrap's last
# customize hook for build.sh: turns the installed root (stoa already in it)
# into the device layout build.sh describes. Runs on the build machine with
# ROOT the image's root; chroot only for what must run inside.
#
# Leaves ROOT/boot/firmware with the boot partition's files and
# ROOT/.stoa-data with the data partition's first contents (build.sh moves
# both out into their own file systems).
set -euo pipefail
root=${1:?usage: customize.sh ROOT ARCH DISK_ID}
arch=${2:?}
disk_id=${3:?}
here=$(cd "$(dirname "$0")" && pwd)

cp -a "$here/files/." "$root/"

cat >"$root/etc/fstab" <<EOF
# Stoa device image (packaging/image/build.sh). The root is read-only; all
# that is written lives on the data partition (/data) or on tmpfs.
PARTUUID=${disk_id}-02  /                 ext4   ro,noatime                            0 0
PARTUUID=${disk_id}-01  /boot/firmware    vfat   rw,noatime,fmask=0022,dmask=0022,flush 0 0
PARTUUID=${disk_id}-03  /data             ext4   rw,noatime,nodev,nosuid,errors=remount-ro 0 2
/data/stoa              /var/lib/stoa     none   bind,x-systemd.requires-mounts-for=/data 0 0
/data/etc-stoa          /etc/stoa         none   bind,x-systemd.requires-mounts-for=/data 0 0
/data/systemd           /var/lib/systemd  none   bind,x-systemd.requires-mounts-for=/data 0 0
tmpfs                   /var/log          tmpfs  nodev,nosuid,mode=0755,size=32M       0 0
/data/journal           /var/log/journal  none   bind,x-systemd.requires-mounts-for=/data 0 0
tmpfs                   /tmp              tmpfs  nodev,nosuid,mode=1777,size=64M       0 0
tmpfs                   /var/tmp          tmpfs  nodev,nosuid,mode=1777,size=16M       0 0
EOF
mkdir -p "$root/data" "$root/boot/firmware"

echo stoa >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tstoa\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# An empty machine-id: systemd makes one per boot on a tmpfs (read-only root).
# Set device_id in stoa.conf for a stable identity where there is no board
# serial (x86).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# Host keys are made on the device (ssh-provision), never shared by images.
rm -f "$root"/etc/ssh/ssh_host_*

sc() { systemctl --root="$root" --quiet "$@"; }
sc enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  stoa-grow-data.service ssh.service
# No login on any console: the player owns tty1; SSH is the only way in.
sc mask getty@.service serial-getty@.service console-getty.service autovt@.service
# Units that write to the root or need what the image does not have.
sc mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service 2>/dev/null || true

# The data partition's first contents, with their owners and modes.
data=$root/.stoa-data
mkdir -p "$data"
cp -a "$root/var/lib/stoa" "$data/stoa"
cp -a "$root/etc/stoa" "$data/etc-stoa"
cp -a "$root/var/lib/systemd" "$data/systemd"
install -d -m 2755 -g "$(chroot "$root" getent group systemd-journal | cut -d: -f3)" "$data/journal"

if [ "$arch" = amd64 ]; then
  # syslinux (installed on the FAT partition by build.sh) boots these.
  kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
  initrd=$root/boot/initrd.img-${kernel##*/vmlinuz-}
  [ -f "$initrd" ] || { echo "customize: no $initrd" >&2; exit 1; }
  mv "$kernel" "$root/boot/firmware/vmlinuz"
  mv "$initrd" "$root/boot/firmware/initrd.img"
  cat >"$root/boot/firmware/syslinux.cfg" <<EOF
# Stoa device image: boots straight into the player (no menu).
DEFAULT stoa
PROMPT 0
TIMEOUT 0
LABEL stoa
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=PARTUUID=${disk_id}-02 ro quiet loglevel=3 console=tty1 console=ttyS0,115200 vt.global_cursor_default=0 panic=10
EOF
fi

if [ "$arch" = arm64 ]; then
  # Debian's Pi support: raspi-firmware's kernel hook writes the firmware,
  # config.txt, cmdline.txt, the DTBs, the kernel and the initrd into
  # /boot/firmware from /etc/default/raspi-firmware. It already ran while
  # mmdebstrap installed the packages, with the defaults (root= whatever
  # findmnt saw in the build chroot); it runs again here with the device's
  # settings. It does nothing unless DEB_MAINT_PARAMS says configure (the
  # kernel's maintainer scripts set it).
  #   ROOTPART  the root by PARTUUID (the hook's default: the build's /);
  #   CONSOLES  tty1, then the Pi 4's mini UART (ttyS1 with enable_uart=1)
  #             as /dev/console, as ttyS0 is on amd64: boot and systemd
  #             messages go to the serial port, not to the screen;
  #   CMA=0     no cma= on the command line: the hook adds cma=64M unless it
  #             runs on a Pi 4 (it cannot tell here), and that makes a Pi 4
  #             unbootable (the hook's own comment); the device tree's CMA
  #             pool is used.
  # raspi-extra-cmdline: the amd64 image's quiet boot and panic reboot.
  kver=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
  kver=${kver##*/vmlinuz-}
  cat >>"$root/etc/default/raspi-firmware" <<EOF

# Stoa device image (packaging/image/customize.sh).
ROOTPART=PARTUUID=${disk_id}-02
CONSOLES="tty1 ttyS1,115200"
CMA=0
EOF
  echo "quiet loglevel=3 vt.global_cursor_default=0 panic=10" >"$root/etc/default/raspi-extra-cmdline"
  chroot "$root" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver"
  # The hook has the root mounted "rw"; the device's is read-only from the
  # start, as fstab says (nothing on the device runs the hook again: its
  # kernel is never upgraded in place).
  sed -i 's/ rw / ro /' "$root/boot/firmware/cmdline.txt"
  for f in config.txt cmdline.txt start4.elf fixup4.dat bcm2711-rpi-4-b.dtb bcm2711-rpi-400.dtb \
           "vmlinuz-$kver" "initrd.img-$kver"; do
    [ -f "$root/boot/firmware/$f" ] || { echo "customize: no /boot/firmware/$f from raspi-firmware" >&2; exit 1; }
  done
  grep -q "root=PARTUUID=${disk_id}-02 ro " "$root/boot/firmware/cmdline.txt" ||
    { echo "customize: cmdline.txt is $(cat "$root/boot/firmware/cmdline.txt")" >&2; exit 1; }
  rm -f "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-*
fi
