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
    the screen shows the content again;
  - memory limit: the unit's MemoryMax is in the cgroup (memory.max); a
    runtime drop-in (`systemctl set-property --runtime`, in /run: gone at the
    next boot, never in the product) lowers it below the player's anonymous
    memory, the kernel's cgroup OOM killer kills the player, systemd
    restarts it (the drop-in reverted meanwhile), the screen shows content
    again, and the agent keeps its MainPID and restart count;
  - `systemd-analyze security` of each stoa unit, printed;
  - web pages under the real player unit with Chromium's sandbox: the
    shipped unit shows a page, its renderer under a seccomp filter of its
    own; a runtime drop-in allowing namespaces and chroot(2) puts the
    renderer in namespaces of its own too (web_sandbox() says more);
  - power cut: a large blob (a PNG of the next colour, padded with a private
    ancillary chunk of random bytes) is published and served with HTTP
    ranges at a throttled rate; qemu is SIGKILLed when a random share of it
    has been sent; booted again with the blob held to a trickle, the screen
    shows the last adopted content, every store start-up recovery of that
    boot is clean (no database rebuild, no bad blob, no dropped row, the
    expected active manifest), then the blob runs at full speed, the new
    colour shows, `stoa status` reports it active with no partial left and
    every stored blob's SHA-256 matches its name. --power-cuts rounds (3).
Prints the figures: image size, build time, boot to first content frame,
watchdog and OOM restart times, power-cut rounds and failures. Needs root
(the image build), qemu-system-x86, mtools, openssh-client (setup.sh's
IMAGE_PACKAGES). --image reuses a built image (skips the .deb and image
build).

Invariants: no fixed sleeps — every wait polls a condition against a
deadline; the qemu process is killed on every exit path.
"""
import argparse
import http.server
import hashlib
import json
import os
import random
import re
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
# The power-cut rounds' colours, one per new manifest (none near COLOUR or
# black), and the web page's background.
ROUND_COLOURS = [(0x20, 0xC0, 0x40), (0x30, 0x60, 0xE0), (0xE0, 0xC0, 0x20), (0x20, 0xC0, 0xC0),
                 (0xA0, 0x60, 0x20), (0x80, 0x20, 0xE0)]
WEB_COLOUR = (0x40, 0xA0, 0xE0)
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


def write_png(path, width, height, rgb, pad_bytes=0):
    """A solid-colour PNG; pad_bytes of random data in private ancillary
    chunks ("stOa": decoders skip them) make it as large as a download must be."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        while pad_bytes > 0:
            n = min(pad_bytes, 1 << 20)
            f.write(chunk(b"stOa", os.urandom(n)))
            pad_bytes -= n
        f.write(chunk(b"IEND", b""))


def colour_fraction(ppm_path, colour=COLOUR):
    """Share of the screendump's pixels within TOLERANCE of colour."""
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
        if all(abs(pixels[i + c] - colour[c]) <= TOLERANCE for c in range(3)):
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


class Site:
    """The backend: a signed static site on the host's loopback. Serves
    HTTP ranges (the agent resumes partials with them) and throttles blobs to
    `rate` bytes/s (None: unlimited), changeable at any time, so a power cut
    can be made to land mid-download. Counts what it sent per blob."""

    def __init__(self, root):
        self.root = root
        self.rate = None
        self.lock = threading.Lock()
        self.sent = {}        # blob hex -> bytes sent since reset_counts()
        self.starts = []      # (blob hex, first byte) of each blob request since reset_counts()
        self.requests = []    # every request line, for the checks and a failure's log
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *a):
                with site.lock:
                    site.requests.append(fmt % a)

            def do_GET(self):
                path = os.path.normpath(os.path.join(site.root, self.path.split("?")[0].lstrip("/")))
                if not path.startswith(site.root + os.sep) or not os.path.isfile(path):
                    self.send_error(404)
                    return
                size = os.path.getsize(path)
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
                    start = int(rng[6:].split("-")[0])
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(size - start))
                self.send_header("Accept-Ranges", "bytes")
                ctype = "text/html" if path.endswith(".html") else "application/octet-stream"
                self.send_header("Content-Type", ctype)
                self.end_headers()
                blob = os.path.basename(path) if "/blobs/" in self.path else None
                if blob:
                    with site.lock:
                        site.starts.append((blob, start))
                with open(path, "rb") as f:
                    f.seek(start)
                    while True:
                        rate = site.rate if blob else None
                        # Throttled: 64 KiB pieces at the rate (the pacing is the
                        # throttle, not a wait for anything).
                        piece = f.read(65536 if rate else 1 << 20)
                        if not piece:
                            return
                        try:
                            self.wfile.write(piece)
                        except OSError:
                            return
                        if blob:
                            with site.lock:
                                site.sent[blob] = site.sent.get(blob, 0) + len(piece)
                        if rate:
                            time.sleep(len(piece) / rate)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def reset_counts(self):
        with self.lock:
            self.sent, self.starts = {}, []

    def sent_of(self, blob):
        with self.lock:
            return self.sent.get(blob, 0)

    def starts_of(self, blob):
        with self.lock:
            return [s for b, s in self.starts if b == blob]


class Vm:
    """One boot of the disk under qemu-system-x86_64 (TCG). Each boot has its
    own serial log; kill() is the power cut (SIGKILL: the guest's page cache
    and qemu's in-flight requests are lost, what qemu wrote to the disk file
    stays, as on a disk without a volatile write cache)."""

    def __init__(self, work, disk, ports, boot_no):
        self.work, self.ports = work, ports
        self.serial = os.path.join(work, f"serial-{boot_no}.log")
        self.qmp_path = os.path.join(work, f"qmp-{boot_no}.sock")
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-m", "2048", "-smp", "2",
               "-drive", f"file={disk},format=raw,if=virtio", "-vga", "std", "-display", "none",
               "-device", "virtio-rng-pci",
               "-netdev", "user,id=n0,"
               f"hostfwd=tcp:127.0.0.1:{ports['player']}-:9641,"
               f"hostfwd=tcp:127.0.0.1:{ports['syncd']}-:9642,"
               f"hostfwd=tcp:127.0.0.1:{ports['ssh']}-:22",
               "-device", "virtio-net-pci,netdev=n0",
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off", "-serial", f"file:{self.serial}"]
        log("$ " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=open(os.path.join(work, f"qemu-{boot_no}.out"), "w"),
                                     stderr=subprocess.STDOUT)
        self.power_on = time.monotonic()
        self.qmp = None
        self.shots = 0

    def connect(self, deadline):
        self.qmp = Qmp(self.qmp_path, deadline)

    def serial_text(self):
        try:
            return open(self.serial, "rb").read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def fraction(self, colour=COLOUR):
        self.shots += 1
        path = os.path.join(self.work, "screen.ppm")
        self.qmp.cmd("screendump", filename=path)
        return colour_fraction(path, colour)[0]

    def ssh(self, command, check=True, timeout=60):
        return subprocess.run(["ssh", "-i", os.path.join(self.work, "ssh_key"), "-p", str(self.ports["ssh"]),
                               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                               "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                               "root@127.0.0.1", command],
                              capture_output=True, text=True, timeout=timeout, check=check)

    def show(self, unit, *props):
        out = self.ssh(f"systemctl show -p {','.join(props)} {unit}").stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_up(self, deadline, colour, what):
        """Polls until the screen shows `colour` and both /healthz answer;
        returns seconds from power-on to the first such frame."""
        if self.qmp is None:
            self.connect(deadline)
        first = None
        while True:
            if self.proc.poll() is not None:
                raise Failure(f"qemu exited ({self.proc.returncode})")
            if first is None and self.fraction(colour) >= CONTENT_FRACTION:
                first = time.monotonic() - self.power_on
            up = healthz(self.ports["player"]), healthz(self.ports["syncd"])
            if first is not None and all(up):
                return first
            if time.monotonic() > deadline:
                raise Failure(f"{what}: content {colour} on screen {first is not None}, "
                              f"/healthz player {up[0]}, syncd {up[1]}")
            time.sleep(2)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def quit(self):
        if self.proc.poll() is None:
            self.qmp.cmd("quit")
            self.proc.wait(timeout=60)


def publish(args, work, version_dir, schedule, files):
    """Publishes `schedule` with `files` ({name: (colour, pad bytes)}) as the
    next manifest; returns {name: sha256 hex}."""
    src = os.path.join(work, version_dir)
    os.makedirs(src)
    digests = {}
    for name, (colour, pad) in files.items():
        path = os.path.join(src, name)
        write_png(path, 640, 360, colour, pad)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digests[name] = h.hexdigest()
    with open(os.path.join(src, "schedule.ini"), "w") as f:
        f.write(schedule)
    run([args.stoa, "publish", "--key", os.path.join(work, "root.key"), "--source", src,
         "--out", os.path.join(work, "site")], stdout=subprocess.DEVNULL)
    return digests


def recovery_lines(vm):
    """The store's start-up recovery lines of this boot (player and agent;
    cache/recovery.cpp's RecoveryReport::summary())."""
    out = vm.ssh("journalctl -b --no-pager -o cat -u stoa-syncd -u stoa-player | grep 'temps removed'",
                 check=False).stdout
    return [line for line in out.splitlines() if "temps removed" in line]


def check_recovery(lines, active_version):
    for line in lines:
        active = re.search(r"active manifest (\d+|none)", line)
        if "DATABASE REBUILT" in line or "of its assets missing" in line or "bad blobs removed 0" not in line \
                or "rows without file dropped 0" not in line or not active or active.group(1) != str(active_version):
            raise Failure(f"store recovery not clean (active manifest {active_version} expected): {line}")


def check_blobs(vm):
    """Every stored blob's SHA-256 is its name; returns how many there are."""
    out = vm.ssh("cd /var/lib/stoa/blobs/sha256 && n=0 && for f in */*; do [ -f \"$f\" ] || continue; "
                 "n=$((n+1)); [ \"$(sha256sum < \"$f\" | cut -c1-64)\" = \"${f#*/}\" ] || echo \"BAD $f\"; done; "
                 "echo \"count $n\"", timeout=600).stdout
    if "BAD " in out:
        raise Failure(f"stored blobs whose hash is not their name: {out}")
    return int(out.split("count ")[-1])


def store_status(vm):
    return vm.ssh("runuser -u stoa -- stoa status --data-dir /var/lib/stoa", timeout=120).stdout


SANDBOX_DROPIN = "/run/systemd/system/stoa-player.service.d/zz-boot-test-sandbox.conf"


def web_sandbox(args, work, vm, site, version, figure):
    """Chromium's sandbox under the real player unit (docs/web.md). The
    shipped unit must show a page with the sandbox's seccomp-bpf layer on (a
    renderer holds one system-call filter more than the player: its own on
    top of the unit's); its namespace layer is reported. Then a runtime
    drop-in (in /run: gone at the next boot) relaxes exactly the two
    restrictions that keep that layer off, RestrictNamespaces and chroot(2)
    in ~@privileged, and the renderer must be in its own user, PID and
    network namespaces. Returns the adopted manifest version."""
    with open(os.path.join(site.root, "web", "page.html"), "w") as f:
        f.write("<!DOCTYPE html><html><body style=\"margin:0;background:#%02x%02x%02x\"></body></html>\n"
                % WEB_COLOUR)
    publish(args, work, "src-web", "timezone = UTC\ndefault = main\n\n[playlist main]\n"
            f"http://10.0.2.2:{site.port}/web/page.html 20s\n", {})
    version += 1

    def processes():
        """(pid, seccomp filters, own user ns, own pid ns, own net ns) of the
        player's main process first, then of each QtWebEngine process."""
        out = vm.ssh("m=$(systemctl show -P MainPID stoa-player.service); "
                     "for p in $m $(pgrep -f ^/usr/lib/qt6/libexec/QtWebEngineProcess); do "
                     "f=$(awk '/^Seccomp_filters:/{print $2}' /proc/$p/status 2>/dev/null) || continue; "
                     "o=''; for n in user pid net; do "
                     "[ \"$(readlink /proc/$p/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] && o=\"$o 0\" || o=\"$o 1\"; done; "
                     "echo \"$p $f$o\"; done", check=False).stdout
        rows = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 5 and all(x.isdigit() for x in parts):
                rows.append(tuple(int(x) for x in parts))
        return rows

    def attempt(label, dropin, deadline_s):
        """Restarts the player with `dropin` ([Service] lines; None: as
        shipped), waits for the page; returns (seconds to the page, processes)."""
        if dropin is None:
            vm.ssh(f"rm -f {SANDBOX_DROPIN} && systemctl daemon-reload")
        else:
            vm.ssh(f"mkdir -p $(dirname {SANDBOX_DROPIN}) && printf '[Service]\\n{dropin}\\n' > {SANDBOX_DROPIN} "
                   "&& systemctl daemon-reload")
        since = vm.ssh("date +%s").stdout.strip()
        vm.ssh("systemctl restart stoa-player.service", timeout=240)
        start = time.monotonic()
        limit = start + deadline_s
        wait_for(f"{label}: the player's /healthz", limit, lambda: healthz(vm.ports["player"]))
        shown = None
        while time.monotonic() < limit:
            if vm.fraction(WEB_COLOUR) >= CONTENT_FRACTION:
                shown = time.monotonic() - start
                break
            time.sleep(2)
        procs = processes()
        journal = vm.ssh(f"journalctl --no-pager -o cat -u stoa-player --since @{since} | "
                         "grep -iE 'sandbox|zygote|credentials|check failed|fatal|skipping|engine warm' | tail -n 8",
                         check=False).stdout.strip()
        print(f"--- web sandbox: {label} ---\npage " + (f"shown {shown:.0f} s after the restart" if shown is not None
                                                        else f"NOT shown in {deadline_s} s")
              + "\n(pid, seccomp filters, own user/pid/net namespace)\n" + "\n".join(map(str, procs))
              + f"\nplayer journal:\n{journal}", flush=True)
        if shown is None:
            raise Failure(f"{label}: the web page never showed")
        if len(procs) < 2:
            raise Failure(f"{label}: no QtWebEngine process")
        return shown, procs

    shown, procs = attempt("shipped unit", None, 300)
    player, engine = procs[0], procs[1:]
    renderer = max(engine, key=lambda p: p[1])
    if renderer[1] <= player[1]:
        raise Failure(f"shipped unit: no QtWebEngine process has a seccomp filter of its own: {procs}")
    own = [n for n, o in zip(("user", "PID", "network"), renderer[2:]) if o]
    figure(f"web sandbox, shipped unit: page shown {shown:.0f} s after a restart; renderer {renderer[1]} seccomp "
           f"filters (player {player[1]}): seccomp-bpf layer ON; namespace layer "
           f"{'ON (' + ', '.join(own) + ')' if own else 'OFF (the host namespaces)'}")
    shown, procs = attempt("RestrictNamespaces=no and chroot(2) allowed",
                           "RestrictNamespaces=no\\nSystemCallFilter=chroot", 300)
    if not any(p[2] and p[3] and p[4] for p in procs[1:]):
        raise Failure(f"with namespaces and chroot allowed no renderer is in namespaces of its own: {procs}")
    figure(f"web sandbox, RestrictNamespaces=no + chroot allowed: page shown {shown:.0f} s after a restart; "
           "namespace layer ON (own user, PID and network namespaces)")
    vm.ssh(f"rm -f {SANDBOX_DROPIN} && systemctl daemon-reload && systemctl restart stoa-player.service", timeout=240)
    # Back to an image for the power cuts.
    publish(args, work, "src-after-web", "timezone = UTC\ndefault = main\n\n[playlist main]\nsolid.png 30s\n",
            {"solid.png": (COLOUR, 0)})
    version += 1
    wait_for("the image again after the web page", time.monotonic() + 300,
             lambda: vm.fraction(COLOUR) >= CONTENT_FRACTION)
    return version


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the repository")
    ap.add_argument("--build", required=True, help="the build tree (its .deb is made here)")
    ap.add_argument("--stoa", required=True, help="the stoa CLI (keygen, publish)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--image", help="boot this image instead of building the .deb and an image")
    ap.add_argument("--boot-timeout", type=float, default=600.0)
    ap.add_argument("--power-cuts", type=int, default=3, help="power-cut rounds (0: none)")
    ap.add_argument("--blob-mib", type=int, default=48, help="size of each power-cut round's download")
    ap.add_argument("--seed", type=int, default=None, help="for the power cuts' random kill points")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise Failure("needs root: the image build runs mmdebstrap in root mode")
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()

    # --- The .deb and the image (both from this build tree), or the given image.
    if args.image:
        image = os.path.abspath(args.image)
    else:
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
    run([args.stoa, "keygen", "--out", os.path.join(work, "root")], stdout=subprocess.DEVNULL)
    site_dir = os.path.join(work, "site")
    os.makedirs(os.path.join(site_dir, "web"))
    publish(args, work, "src", "timezone = UTC\ndefault = main\n\n[playlist main]\nsolid.png 30s\n",
            {"solid.png": (COLOUR, 0)})
    version = 1
    site = Site(site_dir)
    requests = site.requests

    # --- Provisioning through the boot partition. sync_interval_s 5: a new
    # manifest is seen within seconds (the default 60 s would only slow the test).
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(work, "ssh_key")])
    conf = os.path.join(work, "stoa.conf")
    with open(conf, "w") as f:
        f.write(f"server = http://10.0.2.2:{site.port}\ntrusted_keys = /etc/stoa/root.pub\n"
                "device_id = image-test\nplayer_listen = 0.0.0.0:9641\nsyncd_listen = 0.0.0.0:9642\n"
                "display_power = none\nsync_interval_s = 5\n")
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
    vm = Vm(work, disk, ports, 1)
    power_on = vm.power_on
    ssh = vm.ssh
    content_fraction = vm.fraction
    shots = 0
    figures = []

    def figure(text):
        figures.append(text)
        log("figure: " + text)

    try:
        deadline = power_on + args.boot_timeout
        first_frame = vm.wait_up(deadline, COLOUR, f"after {args.boot_timeout:.0f} s")
        figure(f"boot to first content frame {first_frame:.0f} s (power-on to screendump, TCG)")
        log(f"both /healthz answer {time.monotonic() - power_on:.0f} s after power-on")
        text = vm.serial_text()
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

        # --- systemd-analyze security of each unit, as systemd on the device sees them.
        for unit in ("stoa-player.service", "stoa-syncd.service", "stoa-provision.service"):
            out = ssh(f"systemd-analyze security --no-pager {unit}", check=False).stdout
            print(f"--- systemd-analyze security {unit} ---\n{out.rstrip()}", flush=True)
            overall = [l for l in out.splitlines() if "Overall exposure level" in l]
            if not overall:
                raise Failure(f"systemd-analyze security {unit} printed no exposure level")
            figure(f"systemd-analyze security {unit}: {overall[0].split(':', 1)[1].strip()}")

        # --- Watchdog: SIGSTOP → systemd's watchdog kills and restarts the unit.
        for unit, port, wd, abort in (("stoa-player", ports["player"], 30, 15), ("stoa-syncd", ports["syncd"], 60, 20)):
            before = vm.show(unit, "MainPID", "NRestarts")
            ssh(f"kill -STOP {before['MainPID']}")
            stopped = time.monotonic()
            limit = stopped + wd + abort + 2 + 90  # WatchdogSec + TimeoutAbortSec + RestartSec + start under TCG
            wait_for(f"{unit} /healthz to stop answering", limit, lambda: not healthz(port))
            after = wait_for(f"{unit} restarted", limit,
                             lambda: (lambda s: s if s["MainPID"] not in ("0", before["MainPID"]) and
                                      int(s["NRestarts"]) > int(before["NRestarts"]) else None)(
                                          vm.show(unit, "MainPID", "NRestarts")))
            wait_for(f"{unit} /healthz after the restart", limit, lambda: healthz(port))
            wait_for("content on screen after the restart", limit, lambda: content_fraction() >= CONTENT_FRACTION)
            took = time.monotonic() - stopped
            journal = ssh(f"journalctl -b -u {unit} --no-pager -o cat | grep -i watchdog", check=False).stdout.strip()
            if "watchdog timeout" not in journal.lower():
                raise Failure(f"{unit}: restarted, but not by the watchdog: {journal!r}")
            figure(f"watchdog {unit}: SIGSTOP -> healthy and content again {took:.0f} s "
                   f"(WatchdogSec {wd} + abort {abort}; NRestarts {before['NRestarts']} -> {after['NRestarts']})")

        # --- Memory limit: the player past its cgroup's memory.max is OOM-killed
        # and restarted; the agent, in its own unit, is untouched.
        cg = "/sys/fs/cgroup/system.slice/stoa-player.service"
        shipped = ssh(f"cat {cg}/memory.max").stdout.strip()
        if shipped != str(512 << 20):
            raise Failure(f"the player's memory.max is {shipped}, not the unit's MemoryMax=512M")
        agent_before = vm.show("stoa-syncd", "MainPID", "NRestarts")
        player_before = vm.show("stoa-player", "MainPID", "NRestarts")
        anon = int(ssh(f"awk '$1 == \"anon\" {{print $2}}' {cg}/memory.stat").stdout)
        current = int(ssh(f"cat {cg}/memory.current").stdout)
        low_mib = max(16, (anon >> 20) // 2)
        log(f"memory: player cgroup {current >> 20} MiB ({anon >> 20} MiB anonymous); "
            f"runtime drop-in MemoryMax={low_mib}M")
        # One script on the device: lower the limit, wait (polling, deadline)
        # for the kill, put the unit's own limit back while systemd waits
        # RestartSec before the restart, so the new process starts under 512M.
        script = (f"n0={player_before['NRestarts']}; systemctl set-property --runtime stoa-player.service "
                  f"MemoryMax={low_mib}M; end=$((SECONDS+180)); "
                  "while [ $SECONDS -lt $end ]; do "
                  "s=$(systemctl show -P SubState stoa-player.service); "
                  "n=$(systemctl show -P NRestarts stoa-player.service); "
                  "[ \"$s\" = auto-restart ] || [ \"$n\" -gt \"$n0\" ] && break; sleep 0.2; done; "
                  "echo \"seen $s $n\"; systemctl revert stoa-player.service; "
                  f"cat {cg}/memory.max 2>/dev/null; systemctl show -P MemoryMax stoa-player.service")
        lowered = time.monotonic()
        out = ssh(script, timeout=240).stdout
        log(f"memory: {out.strip()!r}")
        limit = lowered + 240
        after = wait_for("stoa-player restarted after the OOM kill", limit,
                         lambda: (lambda s: s if s["MainPID"] not in ("0", player_before["MainPID"]) and
                                  s["ActiveState"] == "active" else None)(
                                      vm.show("stoa-player", "MainPID", "NRestarts", "ActiveState")))
        wait_for("the player's /healthz after the OOM restart", limit, lambda: healthz(ports["player"]))
        wait_for("content on screen after the OOM restart", limit, lambda: content_fraction() >= CONTENT_FRACTION)
        took = time.monotonic() - lowered
        journal = ssh("journalctl -b --no-pager -o cat -u stoa-player | grep -iE 'oom|memory'", check=False).stdout
        if "oom" not in journal.lower():
            raise Failure(f"stoa-player restarted, but not after an OOM kill: {journal!r}")
        restored = ssh(f"cat {cg}/memory.max").stdout.strip()
        if restored != str(512 << 20):
            raise Failure(f"after the revert the player's memory.max is {restored}")
        agent_after = vm.show("stoa-syncd", "MainPID", "NRestarts")
        if agent_after != agent_before:
            raise Failure(f"the agent was touched by the player's OOM kill: {agent_before} -> {agent_after}")
        figure(f"memory limit: MemoryMax {low_mib}M (player at {anon >> 20} MiB anonymous) -> OOM kill, restart, "
               f"content again {took:.0f} s; player NRestarts {player_before['NRestarts']} -> {after['NRestarts']}; "
               f"agent MainPID {agent_after['MainPID']} and NRestarts {agent_after['NRestarts']} unchanged")
        log("memory: " + " | ".join(l for l in journal.splitlines() if "oom" in l.lower())[:600])

        # --- The web-page sandbox under the real unit (docs/web.md).
        version = web_sandbox(args, work, vm, site, version, figure)

        # --- Power cuts mid-download.
        failures = 0
        colour = COLOUR
        last_vm = vm
        for rnd in range(1, args.power_cuts + 1):
            nxt = ROUND_COLOURS[(rnd - 1) % len(ROUND_COLOURS)]
            size_goal = args.blob_mib << 20
            digests = publish(args, work, f"src-{rnd}",
                              f"timezone = UTC\ndefault = main\n\n[playlist main]\nbig.png 30s\n",
                              {"big.png": (nxt, size_goal)})
            blob = digests["big.png"]
            blob_size = os.path.getsize(os.path.join(site_dir, "v1/blobs/sha256", blob))
            site.reset_counts()
            site.rate = 1 << 20
            kill_at = int(blob_size * rng.uniform(0.15, 0.85))
            round_limit = time.monotonic() + 300 + blob_size / site.rate
            wait_for(f"round {rnd}: {kill_at >> 20} MiB of the blob sent", round_limit,
                     lambda: site.sent_of(blob) >= kill_at, interval=0.2)
            last_vm.kill()
            sent_at_kill = site.sent_of(blob)
            log(f"power cut {rnd}: qemu SIGKILLed with {sent_at_kill >> 20} of {blob_size >> 20} MiB sent")
            # The next boot: the blob trickles (the download resumes, cannot
            # finish) until the last adopted content is seen on the screen.
            site.reset_counts()
            site.rate = 32 << 10
            last_vm = Vm(work, disk, ports, rnd + 1)
            try:
                boot_deadline = last_vm.power_on + args.boot_timeout
                up = last_vm.wait_up(boot_deadline, colour, f"round {rnd}: after the power cut")
                if site.sent_of(blob) + max(site.starts_of(blob) or [0]) >= blob_size:
                    raise Failure("the blob finished before the last adopted content was checked")
                wait_for("ssh", boot_deadline, lambda: last_vm.ssh("true", check=False).returncode == 0)
                lines = recovery_lines(last_vm)
                if not lines:
                    raise Failure("no store recovery line in this boot's journal")
                check_recovery(lines, version)
                starts = site.starts_of(blob)
                site.rate = None
                # The download finishes and the new manifest is adopted.
                wait_for(f"round {rnd}: the new colour on screen", time.monotonic() + 600,
                         lambda: last_vm.fraction(nxt) >= CONTENT_FRACTION)
                version += 1
                status = store_status(last_vm)
                active = [l for l in status.splitlines() if l.startswith("active manifest")]
                partial = [l for l in status.splitlines() if l.startswith("partial downloads")]
                if not active or f"version {version}," not in active[0] or not partial or \
                        partial[0].split()[-2:] != ["0", "bytes"] or "staged manifest" in status:
                    raise Failure(f"stoa status after the download:\n{status}")
                nblobs = check_blobs(last_vm)
                resumed = min(starts) if starts else None
                log(f"round {rnd}: recovery: {lines[0]}")
                figure(f"power cut {rnd}: killed at {sent_at_kill / blob_size:.0%} of {blob_size >> 20} MiB sent; "
                       f"rebooted to the last adopted content in {up:.0f} s; resumed from byte "
                       f"{resumed} ({(resumed or 0) >> 20} MiB); adopted version {version}; store consistent "
                       f"({nblobs} blobs hash to their names, no partial)")
                colour = nxt
            except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                failures += 1
                log(f"power cut {rnd}: FAIL: {e}")
                tail = last_vm.serial_text().splitlines()[-80:]
                print("\n".join([f"--- serial console of boot {rnd + 1} (last 80 lines) ---"] + tail), file=sys.stderr)
                break
        figure(f"power cuts: {args.power_cuts} rounds, {failures} failed (seed {seed})")
        if failures:
            raise Failure(f"{failures} power-cut round(s) failed")

        last_vm.quit()
        names = fat.names()
        for name in ("stoa.conf.applied", "stoa-root.pub.applied"):
            if name not in {n.lower() for n in names}:
                raise Failure(f"{name} not on the boot partition after provisioning: {sorted(names)}")
        figure(f"image {image_mib} MiB; whole test {time.monotonic() - started:.0f} s")
        log("ok")
        return 0
    except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        log(f"FAIL: {e}")
        tail = vm.serial_text().splitlines()[-120:]
        print("\n".join(["--- serial console of boot 1 (last 120 lines) ---"] + tail), file=sys.stderr)
        return 1
    finally:
        for v in {vm, locals().get("last_vm", vm)}:
            v.kill()
        site.server.shutdown()
        print("\n".join(["--- figures ---"] + figures), flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Failure, subprocess.CalledProcessError) as e:
        log(f"FAIL: {e}")
        sys.exit(1)
