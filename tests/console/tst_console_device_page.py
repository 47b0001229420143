#!/usr/bin/env python3
"""tests/console/tst_console_device_page.py — the device page's timelines and
controls, the installer's deep link, and the adoption bar without revoked
devices (CTest `console_device_page_browser_test`, label `browser`).

What it proves, against a real `stoa-hub serve` (SQLite) and headless
Chromium:
- the 7-day timeline draws exactly the segments the hub's rule gives for
  heartbeats spread over days (no record before the first one recorded, online
  for the online threshold after each heartbeat, merged, gaps between), and
  the 24-hour one for the same device;
- an editor's Restart player, Reboot (only after its confirming second
  click; Cancel sends nothing), Display on and Display off each queue that
  command (read back through the API), the commands list shows them, and a
  heartbeat from a restarted device turns the reboot's outcome to done;
- a viewer sees no control, and the API answers its session 403 for each;
- the QR code's link (CONSOLE/#/device/ID, and the hub's root with the same
  fragment) opened without a session asks to sign in and then shows that
  device's page;
- the publish page's adoption bar counts neither a revoked device in "of M"
  nor lists it among those not on the version.
Old heartbeats, and the online stretches ingest would have kept for them,
go into the hub's SQLite database directly (the API stamps a heartbeat with
the hub's clock at receipt, so none can be days old); the hub reads them
like any other.
Usage: tst_console_device_page.py STOA_HUB_BIN SCREENSHOT_DIR
"""
import json
import os
import sqlite3
import sys
import time
import unittest
from datetime import datetime, timezone

import harness
from harness import By, wait

HUB_BIN = sys.argv[1] if len(sys.argv) > 1 else "stoa-hub"
SHOTS = sys.argv[2] if len(sys.argv) > 2 else "console-screenshots"
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
ONLINE_MS = 3 * MIN  # the hub's online threshold (online_within_s)


def iso_ms(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class DevicePage(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        cls.hub = harness.Hub(HUB_BIN)
        h = cls.hub
        cls.admin = h.operator("ada", "admin")
        cls.editor = h.operator("eve", "editor")
        h.operator("vic", "viewer")
        h.start()
        cls.tokens = h.add_devices(cls.admin, ["kiosk-01", "spare-01", "gone-01"])
        cls.driver = harness.browser(1280, 720)
        h.publish_image(cls.admin, harness.jpeg(cls.driver, "logo", "#7c3aed"))

        # kiosk-01's week: two hours of heartbeats a minute apart starting
        # 6 days 10 hours ago, one alone 3 days ago, and one now.
        now = int(time.time() * 1000)
        cls.run_start = now - 6 * DAY - 10 * HOUR
        cls.run_end = cls.run_start + 120 * MIN
        cls.lone = now - 3 * DAY
        old = [cls.run_start + i * MIN for i in range(121)] + [cls.lone]
        db = sqlite3.connect(os.path.join(h.data, "hub.db"), timeout=30)
        body = json.dumps({"device_id": "kiosk-01", "software_version": "0.1.0"})
        with db:
            db.executemany("INSERT INTO statuses(device_id, received_at_ms, manifest_version, body) VALUES(?, ?, 1, ?)",
                           [("kiosk-01", t, body) for t in old])
            # The timelines read the online stretches the hub keeps on
            # ingest (docs/hub-api.md), which these rows bypass.
            db.executemany("INSERT INTO online_stretches(device_id, from_ms, to_ms) VALUES(?, ?, ?)",
                           [("kiosk-01", cls.run_start, cls.run_end), ("kiosk-01", cls.lone, cls.lone)])
        db.close()
        h.heartbeat("kiosk-01", cls.tokens["kiosk-01"], version=1)
        # gone-01 reported a version once, then was revoked: out of the adoption bar.
        h.heartbeat("gone-01", cls.tokens["gone-01"], version=1)
        status, _, _ = h.request("POST", "/api/v1/devices/gone-01/revoke", cls.admin, "")
        assert status == 204, status

    # -- helpers ---------------------------------------------------------------------------

    def sign_in_at(self, url, name):
        """Opens `url` without a session, signs in on the form it shows."""
        d = self.driver
        d.get(self.hub.url + "/console/")
        d.execute_script("sessionStorage.clear()")
        d.get(url)
        wait(d, lambda _: d.find_elements(By.ID, "signin-name"), message="sign-in form")
        d.find_element(By.ID, "signin-name").send_keys(name)
        d.find_element(By.ID, "signin-password").send_keys(harness.PASSWORD)
        d.find_element(By.ID, "signin-submit").click()

    def open_device(self, name, device="kiosk-01"):
        self.sign_in_at(f"{self.hub.url}/console/#/device/{device}", name)
        self.wait_device_page(device)

    def wait_device_page(self, device):
        d = self.driver
        wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, "#timeline-7d .seg"), timeout=30,
             message=f"{device}'s page with its timelines")
        self.assertTrue(d.find_element(By.ID, "page-title").text.startswith(device))

    def segments(self, box):
        return self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0] + ' .seg')].map(s => "
            "[s.classList[1], s.dataset.from, s.dataset.until, parseFloat(s.dataset.width)])", "#" + box)

    def commands(self):
        status, _, body = self.hub.request("GET", "/api/v1/devices/kiosk-01/commands", self.admin)
        self.assertEqual(status, 200)
        return json.loads(body)

    # -- tests -----------------------------------------------------------------------------

    def test_1_week_timeline(self):
        d = self.driver
        self.open_device("vic")
        segs = self.segments("timeline-7d")
        kinds = [s[0] for s in segs]
        self.assertEqual(kinds, ["none", "on", "off", "on", "off", "on"], segs)
        start, until = iso_ms(segs[0][1]), iso_ms(segs[-1][2])
        self.assertAlmostEqual(until - start, 7 * DAY, delta=2000)
        near = lambda a, b: self.assertAlmostEqual(a, b, delta=2000)  # whole seconds from the hub
        near(iso_ms(segs[0][2]), self.run_start)   # no record before the oldest heartbeat kept
        near(iso_ms(segs[1][1]), self.run_start)   # 121 heartbeats a minute apart: one stretch
        near(iso_ms(segs[1][2]), self.run_end + ONLINE_MS)
        near(iso_ms(segs[3][1]), self.lone)        # a lone heartbeat: online for the threshold
        near(iso_ms(segs[3][2]), self.lone + ONLINE_MS)
        near(iso_ms(segs[5][2]), until)            # the live one reaches now
        self.assertAlmostEqual(sum(s[3] for s in segs), 100, delta=0.01)
        for a, b in zip(segs, segs[1:]):
            self.assertEqual(a[2], b[1], "segments tile the week")
        summary = d.find_element(By.ID, "timeline-7d-summary").text
        self.assertIn("of the last 7 days; 2 periods without heartbeats", summary)
        self.assertIn("no record before", summary)
        # The same device's 24 hours: the lone heartbeat 3 days ago is the
        # latest before the window, so the record covers it all: no heartbeat
        # until the live one.
        day = self.segments("timeline")
        self.assertEqual([s[0] for s in day], ["off", "on"], day)
        self.assertIn("of the last 24 hours", d.find_element(By.ID, "timeline-summary").text)
        # A device that never sent a heartbeat.
        d.get(self.hub.url + "/console/#/device/spare-01")
        wait(d, lambda _: "No heartbeat in the last 7 days" in d.find_element(By.ID, "timeline-7d-summary").text,
             message="spare-01's empty week")
        self.assertEqual([s[0] for s in self.segments("timeline-7d")], ["none"])
        # A viewer has no controls, and the hub refuses its session.
        d.get(self.hub.url + "/console/#/device/kiosk-01")
        self.wait_device_page("kiosk-01")
        self.assertEqual(d.find_elements(By.ID, "controls"), [])
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "button[data-command]"), [])
        harness.screenshot(d, SHOTS, "device-week-viewer-desktop")
        token = json.loads(d.execute_script("return sessionStorage.getItem('stoa.session')"))["token"]
        for kind in ("restart_player", "reboot", "display_on", "display_off"):
            status, _, _ = self.hub.request("POST", "/api/v1/devices/kiosk-01/commands", token, {"type": kind})
            self.assertEqual(status, 403, kind)
        self.assertEqual(self.commands(), [])

    def test_2_controls(self):
        d = self.driver
        self.open_device("eve")
        sent = lambda: [c["type"] for c in self.commands()]

        def press(button_id, kind, count):
            d.find_element(By.ID, button_id).click()
            wait(d, lambda _: len(self.commands()) == count, message=f"{kind} queued")
            self.assertEqual(sent()[-1], kind)
            wait(d, lambda _: "requested" in d.find_element(By.ID, "control-status").text, message=f"{kind} said")

        press("cmd-restart-player", "restart_player", 1)
        # Reboot: the first click asks, Cancel takes it back, nothing is sent.
        reboot = d.find_element(By.ID, "cmd-reboot")
        reboot.click()
        self.assertIn("Really reboot kiosk-01?", reboot.text)
        harness.screenshot(d, SHOTS, "device-reboot-confirm-desktop")
        d.find_element(By.ID, "cmd-cancel").click()
        self.assertEqual(reboot.text, "Reboot")
        self.assertEqual(sent(), ["restart_player"])
        reboot.click()
        self.assertEqual(sent(), ["restart_player"], "one click does not reboot")
        press("cmd-reboot", "reboot", 2)
        self.assertEqual(d.find_element(By.ID, "cmd-reboot").text, "Reboot")
        press("cmd-display-on", "display_on", 3)
        press("cmd-display-off", "display_off", 4)
        self.assertEqual(sent(), ["restart_player", "reboot", "display_on", "display_off"])
        wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#commands tr[data-command]")) == 4,
             message="the commands list")
        text = d.find_element(By.ID, "commands").text
        for words in ("restart player", "reboot", "display on", "display off", "not picked up yet"):
            self.assertIn(words, text)
        # The device comes back from the reboot: a heartbeat whose uptime
        # began after the command (a second after it, at the earliest: the
        # hub's times are whole seconds).
        reboot = [c for c in self.commands() if c["type"] == "reboot"][0]
        booted = max(int(time.time()), iso_ms(reboot["created_at"]) // 1000 + 1)
        status, _, data = self.hub.request("POST", "/v1/devices/kiosk-01/status", self.tokens["kiosk-01"], {
            "device_id": "kiosk-01", "software_version": "0.1.0",
            "sent_at": datetime.fromtimestamp(booted, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "uptime_s": 0,
            "manifest": {"version": 1, "stale": False}, "pending_commands": []})
        self.assertEqual(status, 204, data)
        reboot_id = reboot["id"]
        d.refresh()
        wait(d, lambda _: "restarted" in d.find_element(By.CSS_SELECTOR, f"#commands tr[data-command='{reboot_id}']").text,
             message="the reboot's outcome")
        # The controls, the two timelines and the commands (not the page's top).
        d.execute_script("document.getElementById('controls').scrollIntoView()")
        os.makedirs(SHOTS, exist_ok=True)
        d.save_screenshot(os.path.join(SHOTS, "device-controls-desktop.png"))
        d.set_window_size(390, 844)
        harness.screenshot(d, SHOTS, "device-controls-phone")
        self.assertFalse(d.execute_script("return document.documentElement.scrollWidth > window.innerWidth"),
                         "no sideways scrolling at 390 px")
        d.set_window_size(1280, 720)

    def test_3_deep_link(self):
        # The QR code's link: the console's route for the device page...
        self.sign_in_at(f"{self.hub.url}/console/#/device/kiosk-01", "vic")
        self.wait_device_page("kiosk-01")
        self.assertTrue(self.driver.current_url.endswith("/console/#/device/kiosk-01"), self.driver.current_url)
        # ...and a hub's root address with the same route (the redirect to
        # /console/ keeps the fragment).
        self.sign_in_at(f"{self.hub.url}/#/device/spare-01", "vic")
        self.wait_device_page("spare-01")
        self.assertTrue(self.driver.current_url.endswith("/console/#/device/spare-01"), self.driver.current_url)

    def test_4_adoption_without_revoked(self):
        d = self.driver
        self.sign_in_at(f"{self.hub.url}/console/#/schedule?target=fleet", "ada")
        wait(d, lambda _: " screens on v" in d.find_element(By.ID, "adoption-text").text, timeout=30,
             message="the adoption bar")
        # Three registered, one revoked: of 2. gone-01 reported v1 before its
        # revocation; the publication is newer anyway.
        self.assertRegex(d.find_element(By.ID, "adoption-text").text, r"^[01] of 2 screens on v\d+$")
        behind = d.find_element(By.ID, "adoption-behind").get_attribute("textContent")
        self.assertIn("spare-01", behind)
        self.assertNotIn("gone-01", behind)

    def test_9_no_browser_errors(self):
        errors = harness.console_errors(self.driver)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
