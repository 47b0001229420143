#!/usr/bin/env python3
"""tests/console/tst_console_upload_resume.py — a console upload cut off
mid-chunk completes by resuming (CTest `console_upload_resume_browser_test`,
label `browser`).

What it proves, against a real `stoa-hub serve` (SQLite) and headless
Chromium: the browser talks to the hub through a TCP relay in this test
that counts every byte the browser sends and, once, closes the connection
in the middle of a chunk's body (the hub sees a connection closed
mid-body; the page sees a network error). The page asks the hub for the
offset it holds and goes on from there: the upload row ends "Uploaded",
its progress bar full; the library holds the medium with the file's own
SHA-256 and size; the bytes the browser sent in all are less than twice
the file and less than the file plus two chunks (a restart from zero
would resend the 16 MiB sent before the cut); no partial upload is left
under DATA/uploads. Every wait is a WebDriverWait on a condition.
Usage: tst_console_upload_resume.py STOA_HUB_BIN SCREENSHOT_DIR
"""
import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import shutil
import unittest

import harness
from harness import By, wait

HUB_BIN = sys.argv[1] if len(sys.argv) > 1 else "stoa-hub"
SHOTS = sys.argv[2] if len(sys.argv) > 2 else tempfile.gettempdir()
CUT_AT = 16 * 1024 * 1024
CHUNK = 4 * 1024 * 1024  # the console's chunk


class CuttingRelay:
    """127.0.0.1:PORT -> the hub. Counts the bytes clients send; the first
    connection whose upload traffic crosses `cut_after` bytes (in all) is
    closed right there, both ways, mid-request."""

    def __init__(self, upstream_port, cut_after):
        self.upstream = upstream_port
        self.cut_after = cut_after
        self.sent = 0          # client -> hub, in all
        self.cuts = 0
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            hub = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.pump, args=(client, hub, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(hub, client, False), daemon=True).start()

    def pump(self, src, dst, upward):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upward:
                    with self.lock:
                        cut = self.cuts == 0 and self.sent + len(data) > self.cut_after
                        if cut:
                            part = self.cut_after - self.sent
                            self.sent += part
                            self.cuts += 1
                        else:
                            self.sent += len(data)
                    if cut:
                        dst.sendall(data[:part])
                        break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.server.close()


class UploadResumeTest(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        cls.hub = harness.Hub(HUB_BIN)
        cls.driver = None
        try:
            cls.token = cls.hub.operator("ed", "editor")
            cls.hub.start()
            cls.media = tempfile.mkdtemp(prefix="stoa-upload-resume-")
            # 22 MiB in 4 MiB chunks: the cut at 16 MiB lands inside the fifth.
            cls.data = os.urandom(22 * 1024 * 1024 + 4321)
            cls.path = os.path.join(cls.media, "big-clip.mp4")
            with open(cls.path, "wb") as f:
                f.write(cls.data)
            cls.relay = CuttingRelay(cls.hub.port, CUT_AT)
            cls.driver = harness.browser(1280, 720)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "relay", None):
                cls.relay.close()
            super().tearDownClass()
        finally:
            if getattr(cls, "media", None):
                shutil.rmtree(cls.media, ignore_errors=True)

    def test_upload_resumes_after_a_cut(self):
        d = self.driver
        harness.sign_in(d, self.relay, "ed")
        d.get(self.relay.url + "/console/#/content")
        wait(d, lambda _: d.find_elements(By.ID, "media-files"), message="content page")
        d.find_element(By.ID, "media-files").send_keys(self.path)
        wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, "#uploads li.done, #uploads li.failed"), timeout=120,
             message="the upload ends")
        row = d.find_element(By.CSS_SELECTOR, "#uploads li")
        self.assertIn("done", row.get_attribute("class"), row.text)
        self.assertEqual(self.relay.cuts, 1, "the relay cut one connection mid-chunk")
        self.assertEqual(row.find_element(By.TAG_NAME, "progress").get_attribute("value"), "100")
        self.assertIn("Uploaded", row.text)
        harness.screenshot(d, SHOTS, "content-upload-resumed")

        status, _, body = self.hub.request("GET", "/api/v1/media", token=self.token)
        self.assertEqual(status, 200)
        media = {m["name"]: m for m in json.loads(body)}
        self.assertIn("big-clip.mp4", media)
        self.assertEqual(media["big-clip.mp4"]["sha256"], hashlib.sha256(self.data).hexdigest())
        self.assertEqual(media["big-clip.mp4"]["bytes"], len(self.data))
        total = self.relay.sent
        print(f"file {len(self.data)} bytes; the browser sent {total} bytes in all "
              f"({total / len(self.data):.2f}x, one connection cut at {CUT_AT} bytes)")
        self.assertGreater(total, len(self.data))
        self.assertLess(total, 2 * len(self.data))
        # Resumed, not restarted: at most the cut chunk and the requests
        # around it are sent again (a restart would resend the 16 MiB).
        self.assertLess(total, len(self.data) + 2 * CHUNK)
        leftovers = os.listdir(os.path.join(self.hub.data, "uploads"))
        self.assertEqual(leftovers, [], "no partial upload left behind")
        self.assertEqual([e for e in harness.console_errors(d) if "net::ERR" not in e["message"]], [])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
