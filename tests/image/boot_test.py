#!/usr/bin/env python3
"""tests/image/boot_test.py — the amd64 device image booted under qemu (issue 19).

Builds the .deb (packaging/build-deb.sh) and the image
(packaging/image/build.sh) into the work folder, once per run, then boots a
copy of it in qemu-system-x86_64 (TCG, 2 GiB, 2 CPUs, std VGA, user
networking) and checks, each with a deadline and polling:
  - first-boot provisioning from the boot partition: stoa.conf (server on
    the host's loopback, reached as 10.0.2.2), stoa-root.pub, stoa-ssh.pub;
  - systemd starts stoa-provision, stoa-syncd and stoa-player (their journal
    lines on the serial console), both /healthz answer through forwarded
    ports;
  - the screen (QMP screendump) shows the published solid-colour image;
  - the device layout over the provisioned SSH: read-only root, data
    partition grown to the disk, no getty;
  - watchdog: the player, then the agent, stopped with SIGSTOP is killed and
    restarted by systemd within WatchdogSec + TimeoutAbortSec + a margin, and
    the screen shows the content again.
Prints the figures: image size, build time, boot to first content frame,
watchdog restart times. Needs root (the image build), qemu-system-x86,
mtools, openssh-client (setup.sh's IMAGE_PACKAGES).

Invariants: no fixed sleeps — every wait polls a condition against a
deadline; the qemu process is killed on every exit path.
"""
import argparse
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib

COLOUR = (0xE0, 0x40, 0xA0)   # the published image; nothing else on screen has it
TOLERANCE = 24                # per channel: llvmpipe's scaling blends edges only
CONTENT_FRACTION = 0.5        # of the screen (the 16:9 image letterboxed on 16:10)


def log(msg):
    print(f"image-test: {msg}", flush=True)


class Failure(Exception):
    pass


def run(cmd, **kw):
    log("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_png(path, width, height, rgb):
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


def colour_fraction(ppm_path):
    """Share of the screendump's pixels within TOLERANCE of COLOUR."""
    data = open(ppm_path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; '#' comments skipped
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise Failure(f"screendump is not an 8-bit P6 PPM: {fields}")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:pos + 1 + width * height * 3]
    # Every 7th pixel is plenty for a solid colour and keeps this cheap.
    hit = total = 0
    for i in range(0, len(pixels) - 2, 21):
        total += 1
        if all(abs(pixels[i + c] - COLOUR[c]) <= TOLERANCE for c in range(3)):
            hit += 1
    return hit / total if total else 0.0, width, height


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Failure("no QMP socket")
                time.sleep(0.2)
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "error" in reply:
                raise Failure(f"QMP {name}: {reply['error']}")
            if "return" in reply:
                return reply["return"]


def healthz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def wait_for(what, deadline, check, interval=2.0):
    """Polls check() until it returns a true value or the deadline passes."""
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out waiting for {what}")
        time.sleep(interval)


class Fat:
    """The image's boot partition, through mtools at its byte offset."""
    def __init__(self, disk):
        table = json.loads(subprocess.run(["sfdisk", "-J", disk], check=True, capture_output=True).stdout)
        part = table["partitiontable"]["partitions"][0]
        self.spec = f"{disk}@@{part['start'] * 512}"

    def put(self, local, name):
        run(["mcopy", "-o", "-i", self.spec, local, "::/" + name])

    def get(self, name):
        return subprocess.run(["mtype", "-i", self.spec, "::/" + name], check=True, capture_output=True, text=True).stdout

    def names(self):
        out = subprocess.run(["mdir", "-b", "-i", self.spec, "::/"], check=True, capture_output=True, text=True).stdout
        # mdir -b prints one "::/NAME" per line.
        return {line.strip().rsplit("/", 1)[-1] for line in out.splitlines() if line.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the repository")
    ap.add_argument("--build", required=True, help="the build tree (its .deb is made here)")
    ap.add_argument("--stoa", required=True, help="the stoa CLI (keygen, publish)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--boot-timeout", type=float, default=600.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise Failure("needs root: the image build runs mmdebstrap in root mode")
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    # --- The .deb and the image (both from this build tree).
    run([os.path.join(args.source, "packaging/build-deb.sh"), args.build], stdout=subprocess.DEVNULL)
    debs = sorted(f for f in os.listdir(args.build) if f.startswith("stoa_") and f.endswith("_amd64.deb"))
    if not debs:
        raise Failure(f"no stoa_*_amd64.deb in {args.build}")
    image = os.path.join(work, "stoa-amd64.img")
    run([os.path.join(args.source, "packaging/image/build.sh"), "--arch", "amd64", "--out", image,
         "--deb", os.path.join(args.build, debs[-1])])
    image_mib = os.path.getsize(image) // 1048576

    # --- The device's disk: a copy, 2 GiB larger so first boot grows the data partition.
    disk = os.path.join(work, "disk.img")
    run(["cp", "--sparse=always", image, disk])
    with open(disk, "r+b") as f:
        f.truncate(os.path.getsize(image) + (2 << 30))

    # --- A signed site with one solid-colour image, served on the loopback.
    site_src = os.path.join(work, "src")
    os.makedirs(site_src)
    write_png(os.path.join(site_src, "solid.png"), 640, 360, COLOUR)
    with open(os.path.join(site_src, "schedule.ini"), "w") as f:
        f.write("timezone = UTC\ndefault = main\n\n[playlist main]\nsolid.png 30s\n")
    run([args.stoa, "keygen", "--out", os.path.join(work, "root")], stdout=subprocess.DEVNULL)
    site = os.path.join(work, "site")
    run([args.stoa, "publish", "--key", os.path.join(work, "root.key"), "--source", site_src, "--out", site],
        stdout=subprocess.DEVNULL)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=site, **kw)

        def log_message(self, fmt, *a):
            requests.append(fmt % a)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site_port = server.server_address[1]

    # --- Provisioning through the boot partition.
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(work, "ssh_key")])
    conf = os.path.join(work, "stoa.conf")
    with open(conf, "w") as f:
        f.write(f"server = http://10.0.2.2:{site_port}\ntrusted_keys = /etc/stoa/root.pub\n"
                "device_id = image-test\nplayer_listen = 0.0.0.0:9641\nsyncd_listen = 0.0.0.0:9642\n"
                "display_power = none\n")
    fat = Fat(disk)
    fat.put(conf, "stoa.conf")
    fat.put(os.path.join(work, "root.pub"), "stoa-root.pub")
    fat.put(os.path.join(work, "ssh_key.pub"), "stoa-ssh.pub")
    # The journal on the serial console, for the unit checks and a failure's log.
    cfg = fat.get("syslinux.cfg").replace("panic=10", "panic=10 systemd.journald.forward_to_console=1")
    with open(os.path.join(work, "syslinux.cfg"), "w") as f:
        f.write(cfg)
    fat.put(os.path.join(work, "syslinux.cfg"), "syslinux.cfg")

    # --- Boot.
    ports = {"player": free_port(), "syncd": free_port(), "ssh": free_port()}
    serial = os.path.join(work, "serial.log")
    qmp_path = os.path.join(work, "qmp.sock")
    qemu_cmd = ["qemu-system-x86_64", "-accel", "tcg", "-m", "2048", "-smp", "2",
                "-drive", f"file={disk},format=raw,if=virtio", "-vga", "std", "-display", "none",
                "-device", "virtio-rng-pci",
                "-netdev", "user,id=n0,"
                f"hostfwd=tcp:127.0.0.1:{ports['player']}-:9641,"
                f"hostfwd=tcp:127.0.0.1:{ports['syncd']}-:9642,"
                f"hostfwd=tcp:127.0.0.1:{ports['ssh']}-:22",
                "-device", "virtio-net-pci,netdev=n0",
                "-qmp", f"unix:{qmp_path},server=on,wait=off", "-serial", f"file:{serial}"]
    log("$ " + " ".join(qemu_cmd))
    qemu = subprocess.Popen(qemu_cmd, stdout=open(os.path.join(work, "qemu.out"), "w"), stderr=subprocess.STDOUT)
    power_on = time.monotonic()

    def serial_text():
        try:
            return open(serial, "rb").read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def ssh(command, check=True):
        return subprocess.run(["ssh", "-i", os.path.join(work, "ssh_key"), "-p", str(ports["ssh"]),
                               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                               "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                               "root@127.0.0.1", command],
                              capture_output=True, text=True, timeout=60, check=check)

    shot_count = [0]

    def content_fraction():
        shot_count[0] += 1
        path = os.path.join(work, "screen.ppm")
        qmp.cmd("screendump", filename=path)
        return colour_fraction(path)[0]

    try:
        deadline = power_on + args.boot_timeout
        qmp = Qmp(qmp_path, deadline)
        first_frame = None
        while True:  # one loop: all three come up in any order
            if qemu.poll() is not None:
                raise Failure(f"qemu exited ({qemu.returncode})")
            if first_frame is None and content_fraction() >= CONTENT_FRACTION:
                first_frame = time.monotonic() - power_on
                log(f"figure: boot to first content frame {first_frame:.0f} s (power-on to screendump, TCG)")
            up = healthz(ports["player"]), healthz(ports["syncd"])
            if first_frame is not None and all(up):
                break
            if time.monotonic() > deadline:
                raise Failure(f"after {args.boot_timeout:.0f} s: content on screen {first_frame is not None}, "
                              f"/healthz player {up[0]}, syncd {up[1]}")
            time.sleep(2)
        log(f"both /healthz answer {time.monotonic() - power_on:.0f} s after power-on")
        text = serial_text()
        for line in ("Finished stoa-provision.service", "Started stoa-syncd.service",
                     "Started stoa-player.service", "applied stoa.conf", "applied stoa-root.pub"):
            if line not in text:
                raise Failure(f"not on the console: {line!r}")
        if not any("/v1/manifest.json" in r for r in requests):
            raise Failure("the device never asked the site for its manifest")

        # --- The layout, over the provisioned SSH.
        wait_for("ssh", deadline, lambda: ssh("true", check=False).returncode == 0)
        root_opts = ssh("findmnt -no OPTIONS /").stdout.strip()
        if not root_opts.startswith("ro"):
            raise Failure(f"root is mounted {root_opts}")
        data_size = int(ssh("lsblk -bno SIZE $(findmnt -no SOURCE /data)").stdout)
        if data_size < (2 << 30):
            raise Failure(f"the data partition did not grow: {data_size} bytes")
        gettys = ssh("systemctl is-active getty@tty1.service serial-getty@ttyS0.service", check=False).stdout.split()
        if "active" in gettys:
            raise Failure(f"a getty runs: {gettys}")
        store = ssh("findmnt -no SOURCE,TARGET /var/lib/stoa").stdout.strip()
        log(f"layout: root {root_opts.split(',')[0]}, data {data_size >> 20} MiB, /var/lib/stoa from {store}")

        # --- Watchdog: SIGSTOP → systemd's watchdog kills and restarts the unit.
        for unit, port, wd, abort in (("stoa-player", ports["player"], 30, 15), ("stoa-syncd", ports["syncd"], 60, 20)):
            show = lambda: dict(l.split("=", 1) for l in ssh(f"systemctl show -p MainPID,NRestarts {unit}").stdout.split())
            before = show()
            ssh(f"kill -STOP {before['MainPID']}")
            stopped = time.monotonic()
            limit = stopped + wd + abort + 2 + 90  # WatchdogSec + TimeoutAbortSec + RestartSec + start under TCG
            wait_for(f"{unit} /healthz to stop answering", limit, lambda: not healthz(port))
            after = wait_for(f"{unit} restarted", limit,
                             lambda: (lambda s: s if s["MainPID"] not in ("0", before["MainPID"]) and
                                      int(s["NRestarts"]) > int(before["NRestarts"]) else None)(show()))
            wait_for(f"{unit} /healthz after the restart", limit, lambda: healthz(port))
            wait_for("content on screen after the restart", limit, lambda: content_fraction() >= CONTENT_FRACTION)
            took = time.monotonic() - stopped
            journal = ssh(f"journalctl -b -u {unit} --no-pager -o cat | grep -i watchdog", check=False).stdout.strip()
            if "watchdog timeout" not in journal.lower():
                raise Failure(f"{unit}: restarted, but not by the watchdog: {journal!r}")
            log(f"figure: watchdog {unit}: SIGSTOP -> healthy and content again {took:.0f} s "
                f"(WatchdogSec {wd} + abort {abort}; NRestarts {before['NRestarts']} -> {after['NRestarts']})")

        qmp.cmd("quit")
        qemu.wait(timeout=60)
        names = fat.names()
        for name in ("stoa.conf.applied", "stoa-root.pub.applied"):
            if name not in {n.lower() for n in names}:
                raise Failure(f"{name} not on the boot partition after provisioning: {sorted(names)}")
        log(f"figure: image {image_mib} MiB; {shot_count[0]} screendumps")
        log("ok")
        return 0
    except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        log(f"FAIL: {e}")
        tail = serial_text().splitlines()[-120:]
        print("\n".join(["--- serial console (last 120 lines) ---"] + tail), file=sys.stderr)
        return 1
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        server.shutdown()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Failure, subprocess.CalledProcessError) as e:
        log(f"FAIL: {e}")
        sys.exit(1)
