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
--quick (CI's size, image_boot_quick): the boot and provisioning, the
screen, both /healthz, the layout, the player's watchdog restart and one
power-cut round of a 24 MiB blob; not systemd-analyze, the agent's
watchdog, the memory limit or the web sandbox.
Shares the VM, the site and the boot partition's tools with
arm64_image_test.py (imagevm.py).
Prints the figures: image size, build time, boot to first content frame,
watchdog and OOM restart times, power-cut rounds and failures. Needs root
(the image build), qemu-system-x86, mtools, openssh-client (setup.sh's
IMAGE_PACKAGES). --image reuses a built image (skips the .deb and image
build).

Invariants: no fixed sleeps — every wait polls a condition against a
deadline; the qemu process is killed on every exit path.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

from imagevm import (COLOUR, CONTENT_FRACTION, GUEST_CMDLINE, Failure, Fat, Site, Vm, free_port, healthz,
                     log, publish, run, wait_for)

# The power-cut rounds' colours, one per new manifest (none near COLOUR or
# black), and the web page's background.
ROUND_COLOURS = [(0x20, 0xC0, 0x40), (0x30, 0x60, 0xE0), (0xE0, 0xC0, 0x20), (0x20, 0xC0, 0xC0),
                 (0xA0, 0x60, 0x20), (0x80, 0x20, 0xE0)]
WEB_COLOUR = (0x40, 0xA0, 0xE0)


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


def security(vm, figure):
    """`systemd-analyze security` of each unit, as systemd on the device sees them."""
    for unit in ("stoa-player.service", "stoa-syncd.service", "stoa-provision.service"):
        out = vm.ssh(f"systemd-analyze security --no-pager {unit}", check=False).stdout
        print(f"--- systemd-analyze security {unit} ---\n{out.rstrip()}", flush=True)
        overall = [l for l in out.splitlines() if "Overall exposure level" in l]
        if not overall:
            raise Failure(f"systemd-analyze security {unit} printed no exposure level")
        figure(f"systemd-analyze security {unit}: {overall[0].split(':', 1)[1].strip()}")


def memory_limit(vm, figure):
    """Memory limit: the player past its cgroup's memory.max is OOM-killed
    and restarted; the agent, in its own unit, is untouched."""
    cg = "/sys/fs/cgroup/system.slice/stoa-player.service"
    shipped = vm.ssh(f"cat {cg}/memory.max").stdout.strip()
    if shipped != str(512 << 20):
        raise Failure(f"the player's memory.max is {shipped}, not the unit's MemoryMax=512M")
    agent_before = vm.show("stoa-syncd", "MainPID", "NRestarts")
    player_before = vm.show("stoa-player", "MainPID", "NRestarts")
    anon = int(vm.ssh(f"awk '$1 == \"anon\" {{print $2}}' {cg}/memory.stat").stdout)
    current = int(vm.ssh(f"cat {cg}/memory.current").stdout)
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
    out = vm.ssh(script, timeout=240).stdout
    log(f"memory: {out.strip()!r}")
    limit = lowered + 240
    after = wait_for("stoa-player restarted after the OOM kill", limit,
                     lambda: (lambda s: s if s["MainPID"] not in ("0", player_before["MainPID"]) and
                              s["ActiveState"] == "active" else None)(
                                  vm.show("stoa-player", "MainPID", "NRestarts", "ActiveState")))
    wait_for("the player's /healthz after the OOM restart", limit, lambda: healthz(vm.ports["player"]))
    wait_for("content on screen after the OOM restart", limit, lambda: vm.fraction() >= CONTENT_FRACTION)
    took = time.monotonic() - lowered
    journal = vm.ssh("journalctl -b --no-pager -o cat -u stoa-player | grep -iE 'oom|memory'", check=False).stdout
    if "oom" not in journal.lower():
        raise Failure(f"stoa-player restarted, but not after an OOM kill: {journal!r}")
    restored = vm.ssh(f"cat {cg}/memory.max").stdout.strip()
    if restored != str(512 << 20):
        raise Failure(f"after the revert the player's memory.max is {restored}")
    agent_after = vm.show("stoa-syncd", "MainPID", "NRestarts")
    if agent_after != agent_before:
        raise Failure(f"the agent was touched by the player's OOM kill: {agent_before} -> {agent_after}")
    figure(f"memory limit: MemoryMax {low_mib}M (player at {anon >> 20} MiB anonymous) -> OOM kill, restart, "
           f"content again {took:.0f} s; player NRestarts {player_before['NRestarts']} -> {after['NRestarts']}; "
           f"agent MainPID {agent_after['MainPID']} and NRestarts {agent_after['NRestarts']} unchanged")
    log("memory: " + " | ".join(l for l in journal.splitlines() if "oom" in l.lower())[:600])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the repository")
    ap.add_argument("--build", required=True, help="the build tree (its .deb is made here)")
    ap.add_argument("--stoa", required=True, help="the stoa CLI (keygen, publish)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--image", help="boot this image instead of building the .deb and an image")
    ap.add_argument("--boot-timeout", type=float, default=600.0)
    ap.add_argument("--quick", action="store_true",
                    help="CI's size: the boot, the screen, both /healthz, the layout, the player's watchdog "
                         "restart and one power cut; no systemd-analyze, agent watchdog, OOM or web sandbox")
    ap.add_argument("--power-cuts", type=int, default=None, help="power-cut rounds (0: none; 3, --quick 1)")
    ap.add_argument("--blob-mib", type=int, default=None,
                    help="size of each power-cut round's download (48, --quick 24)")
    ap.add_argument("--seed", type=int, default=None, help="for the power cuts' random kill points")
    args = ap.parse_args()
    if args.power_cuts is None:
        args.power_cuts = 1 if args.quick else 3
    if args.blob_mib is None:
        args.blob_mib = 24 if args.quick else 48
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
    built_s = time.monotonic() - started

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
    # The journal on the serial console, for the unit checks and a failure's
    # log; systemd's job timeouts for TCG (imagevm.GUEST_CMDLINE).
    cfg = fat.get("syslinux.cfg").replace("panic=10", "panic=10 " + GUEST_CMDLINE)
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

    if not args.image:
        figure(f".deb (cpack, lintian) and image built in {built_s:.0f} s")

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

        if not args.quick:
            security(vm, figure)

        # --- Watchdog: SIGSTOP → systemd's watchdog kills and restarts the unit.
        units = [("stoa-player", ports["player"], 30, 15), ("stoa-syncd", ports["syncd"], 60, 20)]
        for unit, port, wd, abort in units[:1] if args.quick else units:
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

        if not args.quick:
            memory_limit(vm, figure)
            # The web-page sandbox under the real unit (docs/web.md).
            version = web_sandbox(args, work, vm, site, version, figure)

        # --- Power cuts mid-download.
        failures = 0
        colour = COLOUR
        last_vm = vm
        for rnd in range(1, args.power_cuts + 1):
            nxt = ROUND_COLOURS[(rnd - 1) % len(ROUND_COLOURS)]
            size_goal = args.blob_mib << 20
            digests = publish(args, work, f"src-{rnd}",
                              "timezone = UTC\ndefault = main\n\n[playlist main]\nbig.png 30s\n",
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
        figure(f"image {image_mib} MiB; whole test{' (--quick)' if args.quick else ''} "
               f"{time.monotonic() - started:.0f} s")
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
