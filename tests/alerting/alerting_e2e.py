#!/usr/bin/env python3
"""tests/alerting/alerting_e2e.py — the shipped alerting rules end to end,
with real processes (CTest label `alerting`, not in CI: docs/operations.md).

Job: run `stoa-hub serve`, a real `stoa-syncd` heartbeating to it with a
device token from `stoa-hub device add`, Prometheus (Debian `prometheus`)
scraping the hub with packaging/prometheus/stoa-alerts.yml, Alertmanager
(Debian `prometheus-alertmanager`) routing to a webhook receiver in this
script, and check, in this order:
  1. the device killed -> StoaDeviceOffline reaches the receiver, not before
     3 status intervals and within its expected time;
  2. the device started again -> the alert is resolved;
  3. the hub killed -> StoaHubDown, and no StoaDeviceOffline meanwhile (the
     fleet series vanish with the hub instead of reading as "offline");
  4. Alertmanager killed -> the Watchdog notifications stop and the
     receiver's dead man's switch trips; it never tripped before.
Intervals are shortened for the test: heartbeats every 1 s, scrapes and
rule evaluations every 1 s, and the rules file is the shipped one with the
offline threshold at 3 x 1 s and StoaHubDown's `for` at 2 s (retune(): each
change must match exactly once in its rule, or the test fails, so a
reworded rule cannot silently leave the test checking something else).

Invariants: every wait polls a condition against a deadline (no sleeping to
let things settle); every child's output goes to a file in the work
directory (shown when the test fails); every child started is killed and
reaped at exit, by its own pid. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS_INTERVAL_S = 1          # the device's status_interval_s
OFFLINE_AFTER_S = 3 * STATUS_INTERVAL_S
WATCHDOG_REPEAT_S = 2          # Alertmanager repeat_interval for the Watchdog
DEADMAN_QUIET_S = 3 * WATCHDOG_REPEAT_S  # the receiver's dead man's switch trips after this silence


def fail(message):
    raise AssertionError(message)


def free_port():
    # Bound and released: the port is free at this instant; the child binds
    # it moments later (loopback, nothing else here picks ports like this).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout_s, what, poll_s=0.05):
    """Polls `condition` until it returns a truthy value; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def http_get(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return None, b""


class Children:
    """The processes this test started; each killed and reaped at the end."""

    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        self.procs[name] = proc
        return proc

    def kill(self, name):
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def log(self, name):
        try:
            with open(os.path.join(self.work, name + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tails(self, lines=40):
        out = []
        for name in self.procs:
            text = self.log(name).splitlines()
            state = "running" if self.procs[name].poll() is None else f"exited {self.procs[name].returncode}"
            out.append(f"----- {name} ({state}), last {lines} lines:")
            out.extend(text[-lines:])
        return "\n".join(out)

    def stop_all(self):
        for name in list(self.procs):
            try:
                self.kill(name)
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


class Receiver:
    """The webhook receiver Alertmanager sends to, with a dead man's switch:
    /alerts records every alert of every notification with its arrival
    time; /deadman takes the Watchdog, and a thread trips the switch when
    none came for DEADMAN_QUIET_S."""

    def __init__(self):
        self.lock = threading.Lock()
        self.alerts = []          # (arrival monotonic, status, labels dict)
        self.watchdogs = []       # arrival times
        self.trips = []           # times the dead man's switch tripped
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                now = time.monotonic()
                try:
                    payload = json.loads(body)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver.lock:
                    if self.path == "/deadman":
                        receiver.watchdogs.append(now)
                    for a in payload.get("alerts", []):
                        receiver.alerts.append((now, a.get("status"), a.get("labels", {})))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.stop = threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        # The switch arms at the first Watchdog; it trips (once per silence)
        # when the last one is older than DEADMAN_QUIET_S.
        tripped = False
        while not self.stop.wait(0.1):
            with self.lock:
                last = self.watchdogs[-1] if self.watchdogs else None
                if last is None:
                    continue
                quiet = time.monotonic() - last > DEADMAN_QUIET_S
                if quiet and not tripped:
                    self.trips.append(time.monotonic())
                tripped = quiet

    def find(self, alertname, status, since, **labels):
        with self.lock:
            for t, s, l in self.alerts:
                if t >= since and s == status and l.get("alertname") == alertname and all(
                        l.get(k) == v for k, v in labels.items()):
                    return t
        return None

    def close(self):
        self.stop.set()
        self.server.shutdown()


def retune(rules, alert, old, new):
    """The shipped rules with `old` replaced by `new` inside one rule."""
    blocks = re.split(r"(?m)^(?=      - alert: )", rules)
    hits = 0
    for i, block in enumerate(blocks):
        if re.match(rf"      - alert: {re.escape(alert)}\n", block):
            if block.count(old) != 1:
                fail(f"rule {alert}: expected '{old}' once, found it {block.count(old)} times")
            blocks[i] = block.replace(old, new)
            hits += 1
    if hits != 1:
        fail(f"rule {alert}: found {hits} times in the rules file")
    return "".join(blocks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub", required=True)
    ap.add_argument("--syncd", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--work", default=None, help="parent of the work directory (kept when the test fails)")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--alertmanager",
                    default=shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager")
    args = ap.parse_args()
    for tool in (args.prometheus, args.alertmanager, args.hub, args.syncd):
        if not os.access(tool, os.X_OK):
            fail(f"{tool} is not there (apt-get install prometheus prometheus-alertmanager)")

    if args.work:
        os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix="alerting-", dir=args.work)
    children = Children(work)
    receiver = Receiver()
    started = time.monotonic()
    timings = {}
    ok = False
    try:
        run(args, work, children, receiver, timings)
        ok = True
    except AssertionError as e:
        print(f"FAIL: {e}\n{children.tails()}\nwork directory kept: {work}", file=sys.stderr)
    finally:
        children.stop_all()
        receiver.close()
    total = time.monotonic() - started
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + f", whole test {total:.1f}")
    if ok:
        shutil.rmtree(work, ignore_errors=True)
        print("PASS")
        return 0
    return 1


def run(args, work, children, receiver, timings):
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    env["QT_LOGGING_RULES"] = "*.debug=false"
    hub_data = os.path.join(work, "hub")
    os.makedirs(hub_data)

    # ---- the hub and its device -------------------------------------------
    added = subprocess.run([args.hub, "device", "add", "dev-1", "--data-dir", hub_data],
                           capture_output=True, text=True, env=env, timeout=60)
    if added.returncode != 0:
        fail(f"stoa-hub device add: exit {added.returncode}\n{added.stdout}\n{added.stderr}")
    token = added.stdout.strip().splitlines()[-1]
    hub_port = free_port()
    children.start("stoa-hub", [args.hub, "serve", "--data-dir", hub_data, "--listen", f"127.0.0.1:{hub_port}"],
                   env=env)
    hub_url = f"http://127.0.0.1:{hub_port}"
    wait_until(lambda: http_get(hub_url + "/healthz")[0] == 200, 30, "the hub's /healthz")
    signing_pub = os.path.join(hub_data, "keys", "signing.pub")
    wait_until(lambda: os.path.exists(signing_pub), 10, "the hub's signing key")

    device_dir = os.path.join(work, "device")
    os.makedirs(device_dir)
    with open(os.path.join(device_dir, "token"), "w") as f:
        f.write(token + "\n")
    shutil.copy(signing_pub, os.path.join(device_dir, "root.pub"))
    with open(os.path.join(device_dir, "stoa.conf"), "w") as f:
        f.write("\n".join([
            f"server = {hub_url}",
            f"data_dir = {device_dir}/data",
            f"trusted_keys = {device_dir}/root.pub",
            f"token_file = {device_dir}/token",
            "device_id = dev-1",
            "sync_interval_s = 5",
            f"status_interval_s = {STATUS_INTERVAL_S}",
            "backoff_base_s = 0.2",
            "backoff_cap_s = 2",
            "min_free = 0",
            "scrub_rate = 0",
            "syncd_listen = 127.0.0.1:0",
        ]) + "\n")
    syncd_argv = [args.syncd, "--config", os.path.join(device_dir, "stoa.conf")]
    children.start("stoa-syncd", syncd_argv, env=env)

    # ---- the receiver, Alertmanager, Prometheus --------------------------------
    am_port, prom_port = free_port(), free_port()
    with open(os.path.join(work, "alertmanager.yml"), "w") as f:
        f.write(f"""
route:
  receiver: alerts
  group_by: [alertname, device, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    # The dead man's switch: its own receiver, repeated often.
    - matchers: ['alertname="Watchdog"']
      receiver: deadman
      group_wait: 0s
      group_interval: 1s
      repeat_interval: {WATCHDOG_REPEAT_S}s
receivers:
  - name: alerts
    webhook_configs: [{{url: 'http://127.0.0.1:{receiver.port}/alerts', send_resolved: true}}]
  - name: deadman
    webhook_configs: [{{url: 'http://127.0.0.1:{receiver.port}/deadman', send_resolved: false}}]
""")
    children.start("alertmanager", [
        args.alertmanager, f"--config.file={work}/alertmanager.yml", f"--storage.path={work}/am-data",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=info"])

    with open(args.rules) as f:
        rules = f.read()
    rules = retune(rules, "StoaDeviceOffline", "> 3 * 60", f"> 3 * {STATUS_INTERVAL_S}")
    rules = retune(rules, "StoaHubDown", "for: 1m", "for: 2s")
    with open(os.path.join(work, "rules.yml"), "w") as f:
        f.write(rules)
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write(f"""
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]
      timeout: 2s
scrape_configs:
  - job_name: stoa-hub
    static_configs: [{{targets: ['127.0.0.1:{hub_port}']}}]
""")
    children.start("prometheus", [
        args.prometheus, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/prom-data",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        # Firing alerts are sent again every second (default 1m), so
        # Alertmanager's view follows the test's short intervals.
        "--rules.alert.resend-delay=1s"])
    prom = f"http://127.0.0.1:{prom_port}"
    wait_until(lambda: http_get(prom + "/-/ready")[0] == 200, 60, "Prometheus ready")
    wait_until(lambda: http_get(f"http://127.0.0.1:{am_port}/-/ready")[0] == 200, 60, "Alertmanager ready")

    def query(expr):
        status, body = http_get(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        if status != 200:
            return []
        return json.loads(body)["data"]["result"]

    # Steady state: the device's heartbeats are in Prometheus (fresh), the
    # Watchdog reaches the dead man's switch, nothing else fired.
    t0 = time.monotonic()
    wait_until(lambda: query(f'time() - stoa_hub_device_last_heartbeat_timestamp_seconds{{device="dev-1"}} < {OFFLINE_AFTER_S}'),
               60, "dev-1's heartbeats in Prometheus")
    wait_until(lambda: len(receiver.watchdogs) >= 2, 60, "two Watchdog notifications at the dead man's switch")
    timings["steady state"] = time.monotonic() - t0
    if receiver.find("StoaDeviceOffline", "firing", 0):
        fail("StoaDeviceOffline fired while dev-1 was heartbeating")

    # ---- 1. the device killed: offline -------------------------------------
    killed = time.monotonic()
    children.kill("stoa-syncd")
    # Expected: 3 intervals without a heartbeat, then up to a scrape (1 s),
    # an evaluation (1 s), Alertmanager's group_wait (1 s) and delivery.
    expected_s = OFFLINE_AFTER_S + 1 + 1 + 1 + 1
    arrived = wait_until(lambda: receiver.find("StoaDeviceOffline", "firing", killed, device="dev-1"),
                         expected_s + 10, "StoaDeviceOffline for dev-1")
    timings["offline alert after kill"] = arrived - killed
    # Its last heartbeat came at most one interval before the kill.
    if arrived - killed < OFFLINE_AFTER_S - STATUS_INTERVAL_S:
        fail(f"StoaDeviceOffline arrived {arrived - killed:.1f} s after the kill: before 3 status intervals")
    if arrived - killed > expected_s:
        fail(f"StoaDeviceOffline arrived {arrived - killed:.1f} s after the kill; expected within {expected_s} s")

    # ---- 2. the device back: resolved --------------------------------------
    restarted = time.monotonic()
    children.start("stoa-syncd", syncd_argv, env=env)
    resolved = wait_until(lambda: receiver.find("StoaDeviceOffline", "resolved", restarted, device="dev-1"),
                          30, "StoaDeviceOffline resolved for dev-1")
    timings["resolved after restart"] = resolved - restarted

    # ---- 3. the hub killed: hub down ----------------------------------------
    hub_killed = time.monotonic()
    children.kill("stoa-hub")
    # A failed scrape (<= 1 s + timeout), `for: 2s`, an evaluation, group_wait.
    down = wait_until(lambda: receiver.find("StoaHubDown", "firing", hub_killed), 30, "StoaHubDown")
    timings["hub down alert after kill"] = down - hub_killed
    if down - hub_killed < 2:
        fail(f"StoaHubDown arrived {down - hub_killed:.1f} s after the kill, before its `for: 2s`")
    # The device is alive but its hub is gone: its series vanished with the
    # scrape, so no "offline" alert (the hub's own alert says what is wrong).
    if receiver.find("StoaDeviceOffline", "firing", resolved):
        fail("StoaDeviceOffline fired for a device whose hub was down")

    # ---- 4. Alertmanager killed: the dead man's switch ----------------------
    before = len(receiver.watchdogs)
    gaps = [b - a for a, b in zip(receiver.watchdogs, receiver.watchdogs[1:])]
    if receiver.trips:
        fail(f"the dead man's switch tripped while Alertmanager ran (Watchdog gaps: {gaps})")
    if len(gaps) < 3 or max(gaps) > DEADMAN_QUIET_S:
        fail(f"Watchdog notifications not steady before the kill: gaps {gaps}")
    am_killed = time.monotonic()
    children.kill("alertmanager")
    tripped = wait_until(lambda: receiver.trips[-1] if receiver.trips else None,
                         DEADMAN_QUIET_S + WATCHDOG_REPEAT_S + 10, "the dead man's switch to trip")
    timings["dead man's switch after Alertmanager kill"] = tripped - am_killed
    late = [t for t in receiver.watchdogs[before:] if t > am_killed + 0.5]
    if late:
        fail(f"Watchdog notifications after Alertmanager was killed: {late}")
    print(f"Watchdog gaps while Alertmanager ran: max {max(gaps):.1f} s over {len(gaps)} notifications")


if __name__ == "__main__":
    sys.exit(main())
