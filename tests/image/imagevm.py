#!/usr/bin/env python3
"""tests/image/imagevm.py — what the device-image tests share (issue 19):
a device disk booted under qemu-system (TCG) and driven from the host.

  Vm       one boot of a disk (x86_64 by default; another machine's qemu
           arguments for others, e.g. arm64_image_test.py's -M virt), its
           serial log, QMP (screendump), the forwarded ports (/healthz of
           the player and the agent, SSH), kill() as the power cut;
  Site     the backend: a signed static site on the host's loopback, with
           HTTP ranges and a changeable throttle for blobs;
  Fat      the image's boot partition through mtools (provisioning files);
  publish  a manifest of solid-colour PNGs (stoa publish);
  colour_fraction  the share of a screendump in one colour.

Invariants: no fixed sleeps — every wait polls a condition against a
deadline (wait_for); a Vm's qemu is killed by kill() on every exit path of
its user.
"""
import http.server
import hashlib
import json
import os
import socket
import struct
import subprocess
import threading
import time
import urllib.request
import zlib

# Added to the guest's kernel command line by both tests: the journal on the
# serial console (the unit checks, a failure's log), and systemd's job
# timeouts (90 s by default) raised for TCG: on a loaded host (load 18 on 2
# cores) mounting the boot partition and starting systemd-networkd each took
# longer than 90 s of emulation and the guest went to emergency mode. The
# tests' own deadlines bound the boot.
GUEST_CMDLINE = "systemd.journald.forward_to_console=1 systemd.default_timeout_start_sec=600"
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


# The amd64 image's machine: a PC whose firmware boots the disk (syslinux),
# std VGA (bochs-drm in the guest).
X86_64 = ["qemu-system-x86_64", "-accel", "tcg", "-m", "2048", "-smp", "2", "-vga", "std"]


class Vm:
    """One boot of the disk under qemu-system (TCG): `machine` is the qemu
    binary and its machine's own arguments (default X86_64); the disk, the
    network with its forwarded ports, QMP and the serial log are added here
    (PCI virtio devices: the amd64 PC and the arm64 virt machine both have
    PCI). Each boot has its own serial log; kill() is the power cut
    (SIGKILL: the guest's page cache and qemu's in-flight requests are lost,
    what qemu wrote to the disk file stays, as on a disk without a volatile
    write cache)."""

    def __init__(self, work, disk, ports, boot_no, machine=None):
        self.work, self.ports = work, ports
        self.serial = os.path.join(work, f"serial-{boot_no}.log")
        self.qmp_path = os.path.join(work, f"qmp-{boot_no}.sock")
        cmd = list(machine or X86_64) + [
               "-drive", f"file={disk},format=raw,if=virtio", "-display", "none",
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
