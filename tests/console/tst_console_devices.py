#!/usr/bin/env python3
"""tests/console/tst_console_devices.py — a publication made in the console
reaches a real device (CTest `console_devices_browser_test`, label
`browser`, under a private Xvfb: tests/player/run-xvfb.sh).

What it proves: an editor uploads an image and builds a playlist and an
all-day schedule entry for the device's group in headless Chromium, and
publishes; a real `stoa-syncd` + `stoa-player` pair (one config file, the
hub's device token, the hub's signing key as its root key, as
tests/hub/device_processes.h runs them) adopts it, and the console's
adoption bar goes to "1 of 1 screens on vN" by itself; the plays the
player made reach the hub and the CSV export holds them, naming the
image. Every wait is a WebDriverWait on a condition or a poll of an
answer against a deadline, never a sleep to let things settle.
Usage: tst_console_devices.py STOA_HUB_BIN STOA_SYNCD STOA_PLAYER SCREENSHOT_DIR
"""
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

import harness
from harness import By, wait

HUB_BIN, SYNCD, PLAYER = sys.argv[1:4] if len(sys.argv) > 3 else ("stoa-hub", "stoa-syncd", "stoa-player")
SHOTS = sys.argv[4] if len(sys.argv) > 4 else "console-screenshots"
DEVICE = "pi-1"
WAIT_S = 90  # adoption and plays: the device's sync and status intervals are 1 s


def poll(condition, timeout, what):
    """`condition()` until it is truthy or `timeout` seconds pass; its value.
    The pause between tries only spaces the questions out: the deadline, not
    the pause, decides."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


class Child:
    """A device program with its output in a file (never an unread pipe)."""

    def __init__(self, name, log):
        self.name, self.log, self.proc = name, log, None

    def start(self, args, env):
        self.proc = subprocess.Popen(args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env)

    def serving(self):
        with open(self.log, errors="replace") as f:
            return re.search(r"serving http://127\.0\.0\.1:(\d+)", f.read())

    def stop(self):
        harness.stop_process(self.proc)

    def tail(self, lines=40):
        with open(self.log, errors="replace") as f:
            return f"----- {self.name}:\n" + "".join(f.readlines()[-lines:])


class Devices(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("ffmpeg"):
            print("skipped: ffmpeg is not installed (the test makes its image with it)")
            sys.exit(harness.SKIP)
        for binary in (SYNCD, PLAYER):
            if not os.path.exists(binary):
                raise RuntimeError("no " + binary)
        cls.hub = harness.Hub(HUB_BIN)
        cls.admin = cls.hub.operator("ada", "admin")
        cls.hub.operator("ed", "editor")
        cls.hub.start()
        cls.dir = os.path.join(cls.hub.dir, "device")
        os.makedirs(cls.dir)
        cls.image = os.path.join(cls.hub.dir, "green.png")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "color=c=green:s=640x360", "-frames:v", "1", cls.image], check=True, timeout=60)
        token = cls.hub.add_devices(cls.admin, [DEVICE])[DEVICE]
        status, _, body = cls.hub.request("PUT", f"/api/v1/devices/{DEVICE}/group", cls.admin, {"group": "lobby"})
        assert status == 200, body
        status, _, body = cls.hub.request("GET", "/api/v1/signing-key", cls.admin)
        assert status == 200, body
        # The device's root key is the hub's signing key (no keys document).
        with open(os.path.join(cls.dir, "root.pub"), "w") as f:
            f.write(json.loads(body)["public_key_pem"])
        with open(os.path.join(cls.dir, "token"), "w") as f:
            f.write(token + "\n")
        conf = os.path.join(cls.dir, "stoa.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                f"server = {cls.hub.url}", f"data_dir = {cls.dir}/data", f"trusted_keys = {cls.dir}/root.pub",
                f"token_file = {cls.dir}/token", f"device_id = {DEVICE}", "sync_interval_s = 1", "status_interval_s = 1",
                "backoff_base_s = 0.2", "backoff_cap_s = 2", "min_free = 0", "scrub_rate = 0",
                "syncd_listen = 127.0.0.1:0", "player_listen = 127.0.0.1:0"]) + "\n")
        env = dict(os.environ, QT_LOGGING_RULES="*.debug=false")
        env.pop("JOURNAL_STREAM", None)
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"  # without run-xvfb.sh
        cls.syncd = Child("stoa-syncd", os.path.join(cls.dir, "syncd.log"))
        cls.player = Child("stoa-player", os.path.join(cls.dir, "player.log"))
        cls.syncd.start([SYNCD, "--config", conf], env)
        poll(cls.syncd.serving, 30, "stoa-syncd serving")
        cls.player.start([PLAYER, "--config", conf, "--windowed"], env)
        poll(cls.player.serving, 60, "stoa-player serving")
        cls.driver = harness.browser(1280, 720)

    @classmethod
    def tearDownClass(cls):
        try:
            for child in (getattr(cls, "player", None), getattr(cls, "syncd", None)):
                if child:
                    child.stop()
        finally:
            super().tearDownClass()

    def run(self, result=None):
        # The device's own words when anything fails.
        outcome = super().run(result)
        if result and (result.failures or result.errors):
            print(self.syncd.tail(), self.player.tail(), "".join(self.hub.log_lines[-30:]), sep="\n")
        return outcome

    def set_value(self, element, value):
        self.driver.execute_script("""arguments[0].value = arguments[1];
            arguments[0].dispatchEvent(new Event('input', {bubbles: true}));
            arguments[0].dispatchEvent(new Event('change', {bubbles: true}));""", element, value)

    def test_1_publish_and_adoption(self):
        d = self.driver
        harness.sign_in(d, self.hub, "ed")
        d.get(self.hub.url + "/console/#/content")
        wait(d, lambda _: d.find_elements(By.ID, "media-files"), message="content page")
        d.find_element(By.ID, "media-files").send_keys(self.image)
        wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, "#uploads li.done"), timeout=30, message="uploaded")
        d.get(self.hub.url + "/console/#/schedule?target=groups/lobby")
        wait(d, lambda _: d.find_elements(By.ID, "review-changes"), message="schedule page")
        self.set_value(d.find_element(By.ID, "schedule-timezone"), "UTC")
        d.find_element(By.ID, "new-playlist-name").send_keys("show")
        d.find_element(By.ID, "add-playlist").click()
        playlist = wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, '.playlist[data-playlist="show"]'), message="playlist")[0]
        playlist.find_element(By.CSS_SELECTOR, ".add-item").click()
        item = wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, '.playlist[data-playlist="show"] .item'), message="item")[0]
        self.set_value(item.find_element(By.CSS_SELECTOR, ".item-file"), "green.png")
        self.set_value(item.find_element(By.CSS_SELECTOR, ".item-secs"), "2")
        d.find_element(By.ID, "new-entry-name").send_keys("always")
        d.find_element(By.ID, "add-entry").click()
        entry = wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, '.entry[data-entry="always"]'), message="entry")[0]
        self.set_value(entry.find_element(By.CSS_SELECTOR, ".entry-playlist"), "show")
        entry.find_element(By.CSS_SELECTOR, ".entry-allday").click()
        d.find_element(By.ID, "review-changes").click()
        wait(d, lambda _: d.find_elements(By.ID, "publish"), message="review")
        self.assertEqual(d.find_element(By.ID, "review-devices").text, f"Devices affected: 1 ({DEVICE})")
        d.find_element(By.ID, "publish").click()
        wait(d, lambda _: d.find_elements(By.ID, "published"), message="published")
        _, _, body = self.hub.request("GET", "/api/v1/publication", self.admin)
        version = json.loads(body)["version"]
        self.assertGreater(version, 0)
        # The real device adopts it; the bar follows its heartbeats by itself.
        wait(d, lambda _: d.find_element(By.ID, "adoption-text").text == f"1 of 1 screens on v{version}", timeout=WAIT_S,
             message="the device adopts the publication")
        self.assertEqual(d.find_element(By.ID, "adoption-bar").get_attribute("value"), "1")
        d.execute_script("document.getElementById('adoption').scrollIntoView()")
        os.makedirs(SHOTS, exist_ok=True)
        d.find_element(By.ID, "adoption").screenshot(os.path.join(SHOTS, "adoption-desktop.png"))

    def test_2_plays_csv_holds_the_players_records(self):
        with open(self.image, "rb") as f:
            digest = "sha256:" + hashlib.sha256(f.read()).hexdigest()

        def rows():
            status, _, data = self.hub.request("GET", "/api/v1/plays?format=csv", self.admin)
            self.assertEqual(status, 200)
            return [r for r in csv.DictReader(io.StringIO(data.decode()))
                    if r["device_id"] == DEVICE and r["asset"] == digest]

        found = poll(rows, WAIT_S, "the player's plays in the CSV export")
        self.assertEqual({r["media"] for r in found}, {"green.png"})
        self.assertEqual({r["playlist"] for r in found}, {"show"})
        self.assertTrue(all(r["id"].startswith(DEVICE + "-") for r in found), found)
        # And the page counts them.
        d = self.driver
        d.get(self.hub.url + "/console/#/plays")
        wait(d, lambda _: any(DEVICE in r.text for r in d.find_elements(By.CSS_SELECTOR, "#plays-by-device tr")),
             message="plays page")
        self.assertTrue(any("green.png" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#plays-by-asset tr")))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
