#!/usr/bin/env python3
"""tests/console/tst_console_layouts.py — layouts (protocol v1.1 §12) in the
operator console, in a real browser (CTest `console_layouts_browser_test`,
label `browser`).

What it proves, against a real `stoa-hub serve` (SQLite) and headless
Chromium: an editor draws a layout of two regions with the mouse over the
screen-shaped preview, moves one, gives each a playlist (one of them a
playlist holding a text item made on the schedule page), saves it, makes
a schedule entry show it and publishes; the manifest a registered device
fetches with its own token carries the layout with the drawn rectangles
(within 2% of what was drawn) and the entry. Bad input — a region pushed
out of the screen by number entry, a layout with no regions — is refused
with the hub's reason and publishes nothing (the publication's version
stays). A layout name with HTML in it is refused as a name and shown as
text. A viewer sees the layout without Save controls, and the API answers
403. Screenshots of the layouts page at 1280x720 and 390 px go to argv[2].
Every wait is a WebDriverWait on a condition.
Usage: tst_console_layouts.py STOA_HUB_BIN SCREENSHOT_DIR
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import By, wait
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import Select

HUB_BIN = sys.argv[1] if len(sys.argv) > 1 else "stoa-hub"
SHOTS = sys.argv[2] if len(sys.argv) > 2 else "console-screenshots"
HTML_NAME = "<img src=x onerror=alert(1)>"
TOLERANCE = 0.02


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


class Layouts(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("ffmpeg"):
            print("skipped: ffmpeg is not installed (the test makes its media with it)")
            sys.exit(harness.SKIP)
        cls.hub = harness.Hub(HUB_BIN)
        cls.driver = None
        try:
            cls.admin = cls.hub.operator("ada", "admin")
            cls.editor = cls.hub.operator("eve", "editor")
            cls.viewer = cls.hub.operator("vic", "viewer")
            cls.hub.start()
            cls.tokens = cls.hub.add_devices(cls.admin, ["lobby-1"])
            media = tempfile.mkdtemp(prefix="stoa-console-media-")
            png = os.path.join(media, "red.png")
            ffmpeg("-f", "lavfi", "-i", "color=c=red:s=320x180", "-frames:v", "1", png)
            with open(png, "rb") as f:
                status, _, data = cls.hub.request("PUT", "/api/v1/media/red.png", cls.editor, f.read(), "image/png")
            shutil.rmtree(media, ignore_errors=True)
            assert status == 200, data
            # Two playlists to give regions; the schedule page adds a text item below.
            text = "timezone = UTC\ndefault = main\n\n[playlist main]\nred.png 8s\n\n[playlist news]\nred.png 5s\n"
            status, _, data = cls.hub.request("PUT", "/api/v1/schedules/fleet", cls.editor, text, "text/plain")
            assert status == 200, data
            cls.driver = harness.browser(1280, 720)
        except BaseException:
            cls.tearDownClass()
            raise

    def version(self):
        status, _, data = self.hub.request("GET", "/api/v1/publication", self.editor)
        self.assertEqual(status, 200)
        return json.loads(data)["version"]

    def device_manifest(self):
        """The manifest lobby-1 fetches with its own token (the payload of the signed envelope)."""
        status, _, data = self.hub.request("GET", "/v1/manifest.json", self.tokens["lobby-1"])
        self.assertEqual(status, 200, data)
        return json.loads(base64.b64decode(json.loads(data)["payload"]))

    def open_layouts(self):
        d = self.driver
        d.get(self.hub.url + "/console/#/layouts?target=fleet")
        wait(d, lambda d: d.find_elements(By.ID, "h-layouts"), message="layouts page")

    def drag(self, element, x0, y0, x1, y1):
        """Presses at (x0, y0) relative to the element's top-left, moves to (x1, y1), releases."""
        w, h = element.size["width"], element.size["height"]
        # Pointer actions do not scroll: the whole preview in the viewport first.
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        # ActionChains offsets are from the element's centre.
        ActionChains(self.driver).move_to_element_with_offset(element, x0 - w / 2, y0 - h / 2).click_and_hold() \
            .move_by_offset((x1 - x0) / 2, (y1 - y0) / 2).move_by_offset((x1 - x0) / 2, (y1 - y0) / 2).release().perform()

    def test_1_text_item_on_the_schedule_page(self):
        d = self.driver
        harness.sign_in(d, self.hub, "eve")
        d.get(self.hub.url + "/console/#/schedule?target=fleet")
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-playlist="news"] .add-text'), message="schedule editor")
        d.find_element(By.CSS_SELECTOR, '[data-playlist="news"] .add-text').click()
        text = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-playlist="news"] .item-text'), message="text item")[0]
        # A quote cannot be written in the schedule text: refused before anything is sent.
        text.send_keys('Say "hi"')
        d.find_element(By.ID, "review-changes").click()
        wait(d, lambda d: "double quote" in d.find_element(By.ID, "schedule-error").text, message="quote refused")
        text.clear()
        text.send_keys("Doors close at 22:00")
        d.find_element(By.CSS_SELECTOR, '[data-playlist="news"] .item-scroll').click()
        d.find_element(By.ID, "review-changes").click()
        wait(d, lambda d: d.find_elements(By.ID, "publish"), message="review")
        d.find_element(By.ID, "publish").click()
        wait(d, lambda d: d.find_elements(By.ID, "published"), message="published")
        items = self.device_manifest()["playlists"]["news"]["items"]
        self.assertEqual(items[-1]["text"], "Doors close at 22:00")
        self.assertTrue(items[-1].get("scroll"))

    def test_2_draw_assign_schedule_publish(self):
        d = self.driver
        self.open_layouts()
        # A name with HTML is refused as a name, and shown as the characters typed.
        d.find_element(By.ID, "new-layout-name").send_keys(HTML_NAME)
        d.find_element(By.ID, "new-layout").click()
        err = wait(d, lambda d: d.find_element(By.ID, "layout-error").text, message="bad name refused")
        self.assertIn(HTML_NAME, err)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#layout-error img"), [])
        name = d.find_element(By.ID, "new-layout-name")
        name.clear()
        name.send_keys("menu")
        d.find_element(By.ID, "new-layout").click()
        preview = wait(d, lambda d: d.find_elements(By.ID, "layout-preview"), message="preview")[0]
        w, h = preview.size["width"], preview.size["height"]
        self.assertAlmostEqual(w / h, 16 / 9, delta=0.05)

        # Draw two regions: the left three quarters, and a strip at the bottom right.
        self.drag(preview, 2, 2, 0.70 * w, 0.80 * h)
        wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#layout-preview .region:not(.drawing)")) == 1, message="first region")
        self.drag(preview, 0.78 * w, 0.85 * h, 0.98 * w, 0.98 * h)
        wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#layout-preview .region:not(.drawing)")) == 2, message="second region")
        # Move the second one up by 10% of the height.
        second = d.find_element(By.CSS_SELECTOR, '#layout-preview .region[data-index="1"]')
        ActionChains(d).move_to_element(second).click_and_hold().move_by_offset(0, -0.05 * h) \
            .move_by_offset(0, -0.05 * h).release().perform()
        rows = d.find_elements(By.CSS_SELECTOR, ".region-row")
        self.assertEqual(len(rows), 2)
        got = [{k: float(r.find_element(By.CSS_SELECTOR, ".region-" + k).get_attribute("value")) / 100 for k in "xywh"} for r in rows]
        expect = [{"x": 0, "y": 0, "w": 0.70, "h": 0.80}, {"x": 0.78, "y": 0.75, "w": 0.20, "h": 0.13}]
        for g, e in zip(got, expect):
            for k in "xywh":
                self.assertAlmostEqual(g[k], e[k], delta=TOLERANCE, msg=f"{k}: drawn {g}, expected {e}")
        # The number fields are labelled controls.
        for r in rows:
            for c in r.find_elements(By.CSS_SELECTOR, "input, select"):
                self.assertTrue(d.find_elements(By.CSS_SELECTOR, f'label[for="{c.get_attribute("id")}"]'), c.get_attribute("id"))
        Select(rows[0].find_element(By.CSS_SELECTOR, ".region-playlist")).select_by_value("main")
        Select(rows[1].find_element(By.CSS_SELECTOR, ".region-playlist")).select_by_value("news")
        rid = rows[1].find_element(By.CSS_SELECTOR, ".region-id")
        rid.clear()
        rid.send_keys("ticker")
        d.find_element(By.ID, "layout-save").click()
        wait(d, lambda d: d.find_elements(By.ID, "layout-published") or d.find_element(By.ID, "layout-error").text,
             message="layout saved")
        self.assertEqual(d.find_element(By.ID, "layout-error").text, "")

        # An entry shows it, through the schedule page, then publish.
        d.get(self.hub.url + "/console/#/schedule?target=fleet")
        wait(d, lambda d: d.find_elements(By.ID, "new-entry-name"), message="schedule editor")
        d.find_element(By.ID, "new-entry-name").send_keys("lunch")
        d.find_element(By.ID, "add-entry").click()
        entry = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-entry="lunch"]'), message="entry")[0]
        Select(entry.find_element(By.CSS_SELECTOR, ".entry-playlist")).select_by_value("layout:menu")
        d.find_element(By.ID, "review-changes").click()
        added = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".entries-added li"), message="review")
        self.assertIn("lunch: shows layout menu", added[0].text)
        d.find_element(By.ID, "publish").click()
        wait(d, lambda d: d.find_elements(By.ID, "published"), message="published")

        m = self.device_manifest()
        regions = m["layouts"]["menu"]["regions"]
        self.assertEqual([r["id"] for r in regions], ["r1", "ticker"])
        self.assertEqual([r["playlist"] for r in regions], ["main", "news"])
        for r, e in zip(regions, got):
            for k in "xywh":
                self.assertAlmostEqual(r.get(k, 0), e[k], delta=0.001, msg=f"{k}: published {r}, drawn {e}")
        self.assertIn({"layout": "menu"}, [{"layout": e.get("layout")} for e in m["schedule"] if e.get("layout")])
        # The text item made earlier survived the schedule page's round trip.
        self.assertEqual(m["playlists"]["news"]["items"][-1]["text"], "Doors close at 22:00")

        for width, height, suffix in ((1280, 720, "desktop"), (390, 844, "phone")):
            d.set_window_size(width, height)
            self.open_layouts()
            d.find_element(By.CSS_SELECTOR, '.layout-open[data-layout="menu"]').click()
            wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#layout-preview .region")) == 2, message="layout opened")
            # The editor at the top of the view: the drawn screen is what to see.
            os.makedirs(SHOTS, exist_ok=True)
            d.execute_script("document.getElementById('h-layout-edit').scrollIntoView({block: 'start'})")
            d.save_screenshot(os.path.join(SHOTS, f"console-layouts-{suffix}.png"))
        d.set_window_size(1280, 720)
        self.assertEqual(harness.console_errors(d), [])

    def test_3_bad_input_publishes_nothing(self):
        d = self.driver
        before = self.version()
        self.open_layouts()
        d.find_element(By.CSS_SELECTOR, '.layout-open[data-layout="menu"]').click()
        rows = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".region-row"), message="regions")
        x = rows[1].find_element(By.CSS_SELECTOR, ".region-x")
        x.clear()
        x.send_keys("90")  # 90% + 20% wide: off the screen
        d.find_element(By.ID, "layout-save").click()
        err = wait(d, lambda d: d.find_element(By.ID, "layout-error").text, message="out of bounds refused")
        self.assertIn("out of bounds", err)
        self.assertIn("nothing published", err)
        self.assertEqual(self.version(), before)

        # An empty layout: refused with the reason.
        d.find_element(By.ID, "new-layout-name").send_keys("empty")
        d.find_element(By.ID, "new-layout").click()
        wait(d, lambda d: d.find_elements(By.ID, "no-regions"), message="empty layout")
        d.find_element(By.ID, "layout-save").click()
        err = wait(d, lambda d: "no regions" in d.find_element(By.ID, "layout-error").text and d.find_element(By.ID, "layout-error").text,
                   message="empty refused")
        self.assertIn("nothing published", err)
        self.assertEqual(self.version(), before)
        self.assertNotIn("empty", self.device_manifest().get("layouts", {}))

        # Deleting a layout an entry shows: the hub's reason.
        d.find_element(By.CSS_SELECTOR, '.layout-open[data-layout="menu"]').click()
        wait(d, lambda d: d.find_elements(By.ID, "layout-delete"), message="delete button")[0].click()
        err = wait(d, lambda d: "entry lunch" in d.find_element(By.ID, "layout-error").text, message="delete refused")
        self.assertTrue(err)
        self.assertEqual(self.version(), before)

    def test_4_viewer_reads_only(self):
        d = self.driver
        d.find_element(By.ID, "sign-out").click()
        wait(d, lambda d: d.find_elements(By.ID, "signin-name"), message="signed out")
        harness.sign_in(d, self.hub, "vic")
        self.open_layouts()
        d.find_element(By.CSS_SELECTOR, '.layout-open[data-layout="menu"]').click()
        wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#layout-preview .region")) == 2, message="viewer sees the layout")
        self.assertEqual(d.find_elements(By.ID, "layout-save"), [])
        self.assertEqual(d.find_elements(By.ID, "layout-delete"), [])
        self.assertEqual(d.find_elements(By.ID, "new-layout"), [])
        status, _, _ = self.hub.request("PUT", "/api/v1/schedules/fleet/layouts/menu", self.viewer, {"regions": []})
        self.assertEqual(status, 403)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
