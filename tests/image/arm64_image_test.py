#!/usr/bin/env python3
"""tests/image/arm64_image_test.py — the Raspberry Pi 4 (arm64) device image
(issue 19): built, its layout and boot files checked, and booted as far as
qemu allows.

1. The image: packaging/image/build.sh --arch arm64 from the arm64 .deb
   (./setup.sh package-arm64 leaves it in build/arm64), or --image.
2. The partition table and the file systems, read from the image file:
   MBR with disk id 0x5354a001; 1 FAT32 "STOA-BOOT" (type 0x0c, active,
   256 MiB from sector 2048), 2 ext4 "stoa-root" (no journal: the root is
   read-only), 3 ext4 "stoa-data"; contiguous, inside the file.
3. The boot partition as a Pi 4's firmware reads it (mtools): start4.elf and
   fixup4.dat (the Pi 4 firmware), config.txt (arm_64bit, the kernel and the
   initramfs it names, both present), cmdline.txt (root=PARTUUID=5354a001-02
   read-only, the serial console last, no cma=), the DTBs of the Pi 4 and
   the Pi 400 as flattened device trees (the others are listed), the kernel an arm64 Image, the initrd
   a cpio archive (plain or compressed); no DTB of the Pi 5 (bcm2712) is
   reported, not failed: bookworm's kernel has none.
4. The root file system (debugfs, read-only): stoa-player an AArch64 ELF,
   fstab's read-only root by PARTUUID.
5. Unless --no-boot (or without qemu-system-aarch64): a copy of the image,
   provisioned as the amd64 boot test does (stoa.conf with a site on the
   host's loopback, stoa-root.pub, stoa-ssh.pub), booted under
   `qemu-system-aarch64 -M virt -cpu cortex-a72` (TCG; the Pi 4's core)
   with the kernel and initrd from the boot partition and its cmdline.txt
   (the console moved to the virt machine's PL011, ttyAMA0; the journal on
   it): a virtio disk, network and GPU instead of the Pi's SD card, Ethernet
   and vc4. The milestones are polled and timed from power-on, in order: the
   kernel, the root mounted, systemd, its start-up finished, the stoa units
   started, the agent's and the player's /healthz through forwarded ports,
   the published colour on the screen (QMP screendump), the read-only root
   over SSH; emergency mode ends the boot. --expect names
   the last milestone that must be reached (default: all); how far the boot
   got is printed either way. A Pi's firmware and its vc4/V3D are not
   emulated: this checks the Debian kernel, the initrd and the units, not
   the Pi's own boot path (the boot-file checks above stand for that).

Figures printed: image size, build time, each milestone's time. Needs root
(the image build), mtools, e2fsprogs (debugfs), qemu-system-arm for the boot.

Invariants: no fixed sleeps — every wait polls against a deadline; the qemu
process is killed on every exit path.
"""
import argparse
import gzip
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import time

from imagevm import (COLOUR, CONTENT_FRACTION, GUEST_CMDLINE, Failure, Fat, Site, Vm, free_port, healthz, log,
                     publish, run)

DISK_ID = 0x5354A001
SECTOR = 512
SKIP = 77  # ctest's SKIP_RETURN_CODE for this test
MILESTONES = ("kernel", "root", "systemd", "booted", "units", "syncd-healthz", "player-healthz", "screen", "ssh")


def read_at(path, offset, size):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def check_table(image):
    """The MBR and the three file systems' superblocks; returns the table."""
    table = json.loads(subprocess.run(["sfdisk", "-J", image], check=True, capture_output=True,
                                      text=True).stdout)["partitiontable"]
    parts = table["partitions"]
    problems = []
    if table["label"] != "dos" or int(table["id"], 16) != DISK_ID:
        problems.append(f"label {table['label']} id {table['id']}, not dos 0x{DISK_ID:08x}")
    if len(parts) != 3:
        raise Failure(f"{len(parts)} partitions, not 3: {parts}")
    boot, root, data = parts
    if boot["start"] != 2048 or boot["size"] != 256 * 2048 or boot["type"] != "c" or not boot.get("bootable"):
        problems.append(f"partition 1 is not FAT32-LBA, active, 256 MiB from sector 2048: {boot}")
    for p in (root, data):
        if p["type"] != "83":
            problems.append(f"{p['node']} has type {p['type']}, not 83 (Linux)")
    if root["start"] != boot["start"] + boot["size"] or data["start"] != root["start"] + root["size"]:
        problems.append(f"partitions not contiguous: {parts}")
    if (data["start"] + data["size"]) * SECTOR > os.path.getsize(image):
        problems.append("the data partition ends past the image's end")
    # FAT32 boot sector: volume label at 0x47, "FAT32   " at 0x52, 0x55AA.
    bs = read_at(image, boot["start"] * SECTOR, 512)
    if bs[0x52:0x5A] != b"FAT32   " or bs[0x47:0x52].rstrip() != b"STOA-BOOT" or bs[510:512] != b"\x55\xaa":
        problems.append(f"partition 1 is not FAT32 STOA-BOOT: {bs[0x47:0x5A]!r}")
    # ext4 superblock at 1024: magic 0xEF53 at 0x38, compat features at 0x5C
    # (0x4: has_journal), volume name at 0x78.
    for p, label, journal in ((root, b"stoa-root", False), (data, b"stoa-data", None)):
        sb = read_at(image, p["start"] * SECTOR + 1024, 1024)
        if sb[0x38:0x3A] != b"\x53\xef" or sb[0x78:0x88].rstrip(b"\0") != label:
            problems.append(f"{p['node']} is not ext4 {label.decode()}: magic {sb[0x38:0x3A].hex()}")
        elif journal is False and int.from_bytes(sb[0x5C:0x60], "little") & 0x4:
            problems.append(f"{label.decode()} has a journal (the read-only root is made without)")
    if problems:
        raise Failure("partition table: " + "; ".join(problems))
    log(f"partition table: dos 0x{DISK_ID:08x}; boot {boot['size'] >> 11} MiB FAT32, root {root['size'] >> 11} "
        f"MiB ext4, data {data['size'] >> 11} MiB ext4")
    return parts


def unpacked(path):
    """The first bytes of a file, through gzip/xz if it is compressed."""
    head = read_at(path, 0, 6)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path) as f:
            return f.read(1 << 16)
    if head[:6] == b"\xfd7zXZ\x00":
        with lzma.open(path) as f:
            return f.read(1 << 16)
    return read_at(path, 0, 1 << 16)


def check_boot_files(image, work):
    """The Pi 4 boot files; returns (kernel path, initrd path, cmdline) copied to work."""
    fat = Fat(image)
    names = fat.names()
    problems = []
    for name in ("start4.elf", "fixup4.dat", "config.txt", "cmdline.txt"):
        if name not in names:
            problems.append(f"no {name}")
    config = fat.get("config.txt")
    cmdline = fat.get("cmdline.txt").strip()
    kernel = re.search(r"^kernel=(\S+)", config, re.M)
    initrd = re.search(r"^initramfs (\S+)", config, re.M)
    if "arm_64bit=1" not in config.split():
        problems.append("config.txt has no arm_64bit=1")
    if not kernel or kernel.group(1) not in names or not initrd or initrd.group(1) not in names:
        raise Failure(f"config.txt names a kernel or initramfs the partition lacks:\n{config}\nfiles: {sorted(names)}")
    args = cmdline.split()
    consoles = [a for a in args if a.startswith("console=")]
    if f"root=PARTUUID={DISK_ID:08x}-02" not in args or "ro" not in args or "rw" in args:
        problems.append(f"cmdline.txt does not mount PARTUUID {DISK_ID:08x}-02 read-only: {cmdline}")
    if not consoles or not consoles[-1].startswith("console=ttyS1"):
        problems.append(f"cmdline.txt's last console is not the Pi 4's UART ttyS1: {cmdline}")
    if any(a.startswith("cma=") for a in args):
        problems.append(f"cmdline.txt sets cma= (a Pi 4 does not boot with the hook's cma=64M): {cmdline}")
    dtbs = sorted(n for n in names if n.endswith(".dtb"))
    for dtb in ("bcm2711-rpi-4-b.dtb", "bcm2711-rpi-400.dtb"):
        if dtb not in names:
            problems.append(f"no {dtb}")
            continue
        local = os.path.join(work, dtb)
        run(["mcopy", "-o", "-i", fat.spec, "::/" + dtb, local])
        if read_at(local, 0, 4) != b"\xd0\x0d\xfe\xed":
            problems.append(f"{dtb} is not a flattened device tree")
    paths = {}
    for key, name in (("kernel", kernel.group(1)), ("initrd", initrd.group(1))):
        paths[key] = os.path.join(work, name)
        run(["mcopy", "-o", "-i", fat.spec, "::/" + name, paths[key]])
    if unpacked(paths["kernel"])[0x38:0x3C] != b"ARM\x64":
        problems.append(f"{kernel.group(1)} is not an arm64 Image (no ARM\\x64 magic)")
    magic = read_at(paths["initrd"], 0, 6)
    if magic not in (b"070701", b"070702") and magic[:4] != b"\x28\xb5\x2f\xfd" and magic[:2] != b"\x1f\x8b":
        problems.append(f"{initrd.group(1)} is neither a cpio archive nor zstd/gzip: {magic!r}")
    if problems:
        raise Failure("boot partition: " + "; ".join(problems))
    pi5 = [d for d in dtbs if d.startswith("bcm2712")]
    log(f"boot partition: {len(names)} files; config.txt kernel={kernel.group(1)}, initramfs {initrd.group(1)} "
        f"({os.path.getsize(paths['kernel']) >> 20} + {os.path.getsize(paths['initrd']) >> 20} MiB); "
        f"{len(dtbs)} DTBs ({', '.join(d for d in dtbs if d.startswith('bcm2711'))}); "
        f"Pi 5 (bcm2712) DTB: {', '.join(pi5) if pi5 else 'none (bookworm kernel)'}")
    log(f"cmdline.txt: {cmdline}")
    return paths["kernel"], paths["initrd"], cmdline


def check_root(image, parts, work):
    """stoa-player is an AArch64 executable; fstab mounts / read-only."""
    spec = f"{image}?offset={parts[1]['start'] * SECTOR}"
    player = os.path.join(work, "stoa-player.elf")
    subprocess.run(["debugfs", "-R", f"dump /usr/bin/stoa-player {player}", spec], check=True, capture_output=True)
    elf = read_at(player, 0, 20) if os.path.exists(player) else b"(not in the root)"
    if elf[:4] != b"\x7fELF" or int.from_bytes(elf[18:20], "little") != 183:
        raise Failure(f"/usr/bin/stoa-player in the root is not an AArch64 ELF: {elf!r}")
    fstab = subprocess.run(["debugfs", "-R", "cat /etc/fstab", spec], check=True, capture_output=True,
                           text=True).stdout
    if not re.search(rf"^PARTUUID={DISK_ID:08x}-02\s+/\s+ext4\s+ro[,\s]", fstab, re.M):
        raise Failure(f"fstab does not mount the root read-only:\n{fstab}")
    log("root file system: /usr/bin/stoa-player AArch64 ELF, fstab mounts / read-only")


def boot(args, work, image, kernel, initrd, cmdline):
    """Boots a provisioned copy; returns [(milestone, seconds after power-on)]."""
    disk = os.path.join(work, "disk.img")
    run(["cp", "--sparse=always", image, disk])
    with open(disk, "r+b") as f:
        f.truncate(os.path.getsize(image) + (2 << 30))
    run([args.stoa, "keygen", "--out", os.path.join(work, "root")], stdout=subprocess.DEVNULL)
    site_dir = os.path.join(work, "site")
    os.makedirs(site_dir)
    publish(args, work, "src", "timezone = UTC\ndefault = main\n\n[playlist main]\nsolid.png 30s\n",
            {"solid.png": (COLOUR, 0)})
    site = Site(site_dir)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(work, "ssh_key")])
    conf = os.path.join(work, "stoa.conf")
    with open(conf, "w") as f:
        f.write(f"server = http://10.0.2.2:{site.port}\ntrusted_keys = /etc/stoa/root.pub\n"
                "device_id = arm64-image-test\nplayer_listen = 0.0.0.0:9641\nsyncd_listen = 0.0.0.0:9642\n"
                "display_power = none\nsync_interval_s = 5\n")
    fat = Fat(disk)
    fat.put(conf, "stoa.conf")
    fat.put(os.path.join(work, "root.pub"), "stoa-root.pub")
    fat.put(os.path.join(work, "ssh_key.pub"), "stoa-ssh.pub")
    # The device's command line with the virt machine's serial port as the
    # console, the boot's messages kept (no quiet) and the journal on it.
    append = " ".join(a for a in cmdline.split() if not a.startswith(("console=", "quiet", "loglevel=")))
    append += " console=tty1 console=ttyAMA0,115200 " + GUEST_CMDLINE
    machine = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-accel", "tcg", "-m", "2048",
               "-smp", "2", "-kernel", kernel, "-initrd", initrd, "-append", append,
               "-device", "virtio-gpu-pci", "-no-reboot"]  # a panic (panic=10) ends qemu, not loops
    ports = {"player": free_port(), "syncd": free_port(), "ssh": free_port()}
    vm = Vm(work, disk, ports, 1, machine=machine)
    reached = []
    # What each milestone is: a console line, or a check through a port.
    console = {
        "kernel": r"Linux version \S+",
        "root": r"EXT4-fs \(vda2\): mounted filesystem|Mounted root filesystem|Run /sbin/init|systemd\[1\]",
        "systemd": r"systemd\[1\]: .*(Detected|Hostname set|Reached target)",
        "booted": r"systemd\[1\]: Startup finished",
        "units": r"Started stoa-player\.service",
    }
    deadline = vm.power_on + args.boot_timeout
    try:
        for stage in MILESTONES:
            if stage in console:
                pattern = re.compile(console[stage])
                check = lambda: pattern.search(vm.serial_text())
            elif stage == "syncd-healthz":
                check = lambda: healthz(ports["syncd"])
            elif stage == "player-healthz":
                check = lambda: healthz(ports["player"])
            elif stage == "screen":
                if vm.qmp is None:
                    vm.connect(deadline)
                check = lambda: vm.fraction(COLOUR) >= CONTENT_FRACTION
            else:
                check = lambda: vm.ssh("findmnt -no OPTIONS /", check=False).stdout.startswith("ro")
            while not check():
                if "Reached target emergency.target" in vm.serial_text():
                    raise Failure(f"emergency mode before {stage}")
                if vm.proc.poll() is not None:
                    raise Failure(f"qemu exited ({vm.proc.returncode}) before {stage}")
                if time.monotonic() > deadline:
                    raise Failure(f"no {stage} within {args.boot_timeout:.0f} s of power-on")
                time.sleep(1 if stage in console else 3)
            reached.append((stage, time.monotonic() - vm.power_on))
            log(f"figure: arm64 boot: {stage} {reached[-1][1]:.0f} s after power-on")
            if stage == args.expect:
                break
        if "ssh" in dict(reached):
            out = vm.ssh("systemctl is-active stoa-provision stoa-syncd stoa-player; uname -m; "
                         "systemd-analyze time | head -1", check=False).stdout
            log("arm64 boot: " + " | ".join(out.split("\n")))
        return reached, None
    except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        tail = vm.serial_text().splitlines()[-60:]
        print("\n".join(["--- arm64 serial console (last 60 lines) ---"] + tail), file=sys.stderr)
        return reached, str(e)
    finally:
        vm.kill()
        site.server.shutdown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the repository")
    ap.add_argument("--stoa", required=True, help="the build machine's stoa CLI (keygen, publish)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--deb", help="the arm64 .deb (default SOURCE/build/arm64/stoa_<version>_arm64.deb)")
    ap.add_argument("--image", help="check and boot this image instead of building one")
    ap.add_argument("--no-boot", action="store_true", help="the image checks only")
    ap.add_argument("--boot-timeout", type=float, default=2400.0)
    ap.add_argument("--expect", choices=MILESTONES, default=MILESTONES[-1],
                    help="the last boot milestone that must be reached (default: all)")
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    started = time.monotonic()
    figures = []
    if args.image:
        image = os.path.abspath(args.image)
    else:
        if os.geteuid() != 0:
            raise Failure("needs root: the image build runs mmdebstrap in root mode")
        deb = args.deb
        if not deb:
            version = re.search(r"^project\(stoa VERSION ([0-9.]+)",
                                open(os.path.join(args.source, "CMakeLists.txt")).read(), re.M).group(1)
            deb = os.path.join(args.source, f"build/arm64/stoa_{version}_arm64.deb")
        if not os.path.isfile(deb):
            # Skipped, not failed (ctest's SKIP_RETURN_CODE): `ctest -L image`
            # selects this test too, and the arm64 .deb is a build of its own.
            log(f"SKIP: no {deb} (./setup.sh package-arm64 builds it)")
            return SKIP
        image = os.path.join(work, "stoa-arm64.img")
        run([os.path.join(args.source, "packaging/image/build.sh"), "--arch", "arm64", "--out", image, "--deb", deb])
        figures.append(f"arm64 image built in {time.monotonic() - started:.0f} s")
    size = os.path.getsize(image)
    allocated = os.stat(image).st_blocks * 512
    figures.append(f"arm64 image {size >> 20} MiB ({allocated >> 20} MiB allocated)")
    try:
        parts = check_table(image)
        kernel, initrd, cmdline = check_boot_files(image, work)
        check_root(image, parts, work)
        figures.append("arm64 image: partition table, boot files and root checked")
        if args.no_boot or not shutil.which("qemu-system-aarch64"):
            figures.append("arm64 boot: not tried (" + ("--no-boot" if args.no_boot else
                           "no qemu-system-aarch64: apt-get install qemu-system-arm") + ")")
            return 0
        reached, error = boot(args, work, image, kernel, initrd, cmdline)
        got = ", ".join(f"{stage} {t:.0f} s" for stage, t in reached) or "nothing"
        figures.append(f"arm64 boot under qemu -M virt (TCG, cortex-a72 x2): reached {got}"
                       + (f"; stopped: {error}" if error else ""))
        if args.expect not in dict(reached):
            raise Failure(f"the boot did not reach {args.expect}: {error}")
        log("ok")
        return 0
    except (Failure, subprocess.CalledProcessError) as e:
        log(f"FAIL: {e}")
        return 1
    finally:
        figures.append(f"whole test {time.monotonic() - started:.0f} s")
        print("\n".join(["--- figures ---"] + figures), flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Failure, subprocess.CalledProcessError) as e:
        log(f"FAIL: {e}")
        sys.exit(1)
