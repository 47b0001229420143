#!/usr/bin/env python3
"""packaging/hub/check_haproxy_sample.py: the shipped HAProxy sample, run.

Job: prove that packaging/hub/haproxy-stoa-hub.cfg is a configuration the
Debian haproxy accepts and that it behaves as docs/hub.md says, so an
operator who copies it gets what the comments promise. The sample is used
as shipped except for what must differ on a test machine: the TLS
certificate (a throwaway self-signed one), the listening port (a free one on
loopback), the replica address (a port nothing listens on: the hub tier is
down) and, when this machine's open-files limit cannot hold the sample's
global maxconn (HAProxy needs two descriptors per connection), a maxconn
that fits. Checks: `haproxy -c` accepts it; a device request then gets
HAProxy's own 503 with `Retry-After: 30` (spec §1: devices honour it), once
the health check has marked the replica down.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import ssl
import http.client


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "haproxy-stoa-hub.cfg")
    text = open(sample).read()
    with tempfile.TemporaryDirectory() as work:
        key, crt, pem = (os.path.join(work, n) for n in ("key.pem", "crt.pem", "hub.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        with open(pem, "w") as out:
            out.write(open(crt).read() + open(key).read())
        port, dead = free_port(), free_port()
        cfg, n = re.subn(r"bind :443 ssl crt \S+", f"bind 127.0.0.1:{port} ssl crt {pem}", text)
        assert n == 1, "the sample's `bind :443 ssl crt ...` line changed: update this check"
        cfg, n = re.subn(r"server hub1 127\.0\.0\.1:8080 check", f"server hub1 127.0.0.1:{dead} check", cfg)
        assert n == 1, "the sample's `server hub1 127.0.0.1:8080 check` line changed: update this check"
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = hard if hard != resource.RLIM_INFINITY else 1 << 20
        m = re.search(r"^    maxconn (\d+)$", cfg, re.M)
        assert m, "the sample's global maxconn line changed: update this check"
        if 2 * int(m.group(1)) + 100 > limit:
            fits = (limit - 100) // 2
            cfg = cfg.replace(m.group(0), f"    maxconn {fits}", 1)
            print(f"open-files limit {limit}: global maxconn {m.group(1)} -> {fits} for this run")
        path = os.path.join(work, "haproxy.cfg")
        with open(path, "w") as out:
            out.write(cfg)

        check = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True)
        if check.returncode != 0:
            print(check.stdout + check.stderr)
            sys.exit("FAIL: haproxy -c refuses the sample")
        print("haproxy -c: the sample is valid")

        proc = subprocess.Popen(["haproxy", "-db", "-f", path], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            # Poll until HAProxy answers; before its checks mark hub1 down it
            # may still try the replica (connection refused: also a 503).
            deadline = time.monotonic() + 20
            last = None
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    sys.exit("FAIL: haproxy exited: " + proc.stdout.read())
                try:
                    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx)
                    c.request("GET", "/v1/devices/d1/manifest.json")
                    r = c.getresponse()
                    body = r.read().decode()
                    last = (r.status, r.getheader("Retry-After"), body.strip())
                    c.close()
                    if r.status == 503 and "retry later" in body:
                        break
                except OSError as e:
                    last = repr(e)
                time.sleep(0.1)  # poll interval, not a settle: the loop ends on the condition
            print("answer with the hub tier down:", last)
            if not (isinstance(last, tuple) and last[0] == 503 and last[1] == "30"):
                sys.exit("FAIL: expected HAProxy's own 503 with Retry-After: 30, got %r" % (last,))
        finally:
            proc.terminate()
            proc.wait(10)
    print("PASS")


if __name__ == "__main__":
    main()
