#!/usr/bin/env python3
"""tests/console/tst_console_content.py — the content-to-screen flow of the
operator console in a real browser (CTest `console_content_browser_test`,
label `browser`).

What it proves, against a real `stoa-hub serve` (SQLite) and headless
Chromium: an editor uploads two images and a video (made with ffmpeg now)
through the file picker and one more by drag and drop, each with its
progress bar; images get thumbnails, the video a frame from the hub; an unsupported
file is refused before upload with a message; a playlist and a schedule
entry are built in the page; bad input (a name with HTML, an empty
playlist, an entry whose until equals from) is refused with a clear
message, the HTML shown as text, and nothing is published; the review
lists the media, entries and devices a publish changes; after publishing
the week view (the hub's run of the devices' schedule engine) shows the
entry at its hours, with the DST day 23 hours long; the adoption bar goes
from 0 of 1 to 1 of 1 when the device's heartbeat reports the version;
deleting a medium in use is refused with the reason; proof of play counts
and exports (CSV) the records a device posted with its own token; the audit
log names who did what; a viewer has no Review/Publish/Delete controls and
the API answers 403. Screenshots of each page at 1280x720 and 390 px go
to argv[2]. Every wait is a WebDriverWait on a condition.
Usage: tst_console_content.py STOA_HUB_BIN SCREENSHOT_DIR
"""
import base64
import csv
import datetime
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import By, wait

HUB_BIN = sys.argv[1] if len(sys.argv) > 1 else "stoa-hub"
SHOTS = sys.argv[2] if len(sys.argv) > 2 else "console-screenshots"
HTML_NAME = "<b>bold</b>"
# The week of the spring DST change in Europe (Sunday 29 March 2026: 02:00 -> 03:00).
WEEK = "2026-03-23"


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


class Content(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("ffmpeg"):
            print("skipped: ffmpeg is not installed (the test makes its media with it)")
            sys.exit(harness.SKIP)
        cls.media = tempfile.mkdtemp(prefix="stoa-console-media-")
        m = cls.media
        ffmpeg("-f", "lavfi", "-i", "color=c=red:s=320x180", "-frames:v", "1", os.path.join(m, "red.png"))
        ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=320x180", "-frames:v", "1", os.path.join(m, "blue.png"))
        ffmpeg("-f", "lavfi", "-i", "testsrc=duration=2:size=320x180:rate=10", "-pix_fmt", "yuv420p",
               "-c:v", "libx264", os.path.join(m, "clip.mp4"))
        with open(os.path.join(m, "notes.txt"), "w") as f:
            f.write("not media\n")
        cls.hub = harness.Hub(HUB_BIN)
        cls.admin = cls.hub.operator("ada", "admin")
        cls.hub.operator("ed", "editor")
        cls.hub.operator("vic", "viewer")
        cls.hub.start()
        cls.tokens = cls.hub.add_devices(cls.admin, ["lobby-01"])
        status, _, body = cls.hub.request("PUT", "/api/v1/devices/lobby-01/group", cls.admin, {"group": "lobby"})
        assert status == 200, body
        cls.hub.heartbeat("lobby-01", cls.tokens["lobby-01"], version=0)
        cls.driver = harness.browser(1280, 720)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.media, ignore_errors=True)

    # ---- helpers ----
    def read(self, name):
        with open(os.path.join(self.media, name), "rb") as f:
            return f.read()

    def version(self):
        status, _, body = self.hub.request("GET", "/api/v1/publication", self.admin)
        self.assertEqual(status, 200)
        return json.loads(body)["version"]

    def session_token(self):
        return self.driver.execute_script("return JSON.parse(sessionStorage.getItem('stoa.session')).token")

    def go(self, fragment, ready):
        self.driver.get(self.hub.url + "/console/#/" + fragment)
        wait(self.driver, ready, timeout=20, message=fragment)

    def shots(self, name):
        d = self.driver
        harness.screenshot(d, SHOTS, name + "-desktop")
        d.set_window_size(390, 844)
        overflow = d.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        harness.screenshot(d, SHOTS, name + "-phone")
        d.set_window_size(1280, 720)
        self.assertLessEqual(overflow, 0, f"{name}: no sideways scrolling at 390 px")

    def element_shot(self, element_id, name):
        """A picture of one part of the page (below the editor, where a
        screenshot of the page's top would not reach)."""
        d = self.driver
        d.set_window_size(1280, 1400)
        element = d.find_element(By.ID, element_id)
        d.execute_script("arguments[0].scrollIntoView()", element)
        os.makedirs(SHOTS, exist_ok=True)
        element.screenshot(os.path.join(SHOTS, name + ".png"))
        print("screenshot:", os.path.join(SHOTS, name + ".png"))
        d.set_window_size(1280, 720)

    def set_value(self, element, value):
        """Sets an input's value as a person would leave it (date and time
        inputs take keys in the browser's locale format; this does not)."""
        self.driver.execute_script("""arguments[0].value = arguments[1];
            arguments[0].dispatchEvent(new Event('input', {bubbles: true}));
            arguments[0].dispatchEvent(new Event('change', {bubbles: true}));""", element, value)

    def review_errors(self):
        return self.driver.find_element(By.ID, "schedule-error").text

    def click(self, element):
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def playlist(self, name):
        return self.driver.find_element(By.CSS_SELECTOR, f'.playlist[data-playlist="{name}"]')

    def add_playlist(self, name):
        d = self.driver
        field = d.find_element(By.ID, "new-playlist-name")
        field.clear()
        field.send_keys(name)
        self.click(d.find_element(By.ID, "add-playlist"))
        wait(d, lambda _: [p for p in d.find_elements(By.CSS_SELECTOR, ".playlist") if p.get_attribute("data-playlist") == name],
             message=f"playlist {name} drawn")

    def add_item(self, playlist, medium, seconds="", fit=None):
        d = self.driver
        before = len(self.playlist(playlist).find_elements(By.CSS_SELECTOR, ".item"))
        self.click(self.playlist(playlist).find_element(By.CSS_SELECTOR, ".add-item"))
        wait(d, lambda _: len(self.playlist(playlist).find_elements(By.CSS_SELECTOR, ".item")) == before + 1, message="item")
        item = self.playlist(playlist).find_elements(By.CSS_SELECTOR, ".item")[-1]
        self.set_value(item.find_element(By.CSS_SELECTOR, ".item-file"), medium)
        if seconds:
            self.set_value(item.find_element(By.CSS_SELECTOR, ".item-secs"), seconds)
        if fit:
            self.set_value(item.find_element(By.CSS_SELECTOR, ".item-fit"), fit)

    def review(self):
        d = self.driver
        d.execute_script("document.getElementById('review').replaceChildren()")
        self.click(d.find_element(By.ID, "review-changes"))
        wait(d, lambda _: self.review_errors() or d.find_elements(By.CSS_SELECTOR, "#review section"),
             message="review answered")

    # ---- the flow, in order ----
    def test_1_upload(self):
        d = self.driver
        harness.sign_in(d, self.hub, "ed")
        self.go("content", lambda d: d.find_elements(By.ID, "media-files"))
        wait(d, lambda _: "library is empty" in d.find_element(By.ID, "media").text, message="empty library")
        picker = d.find_element(By.ID, "media-files")
        picker.send_keys("\n".join(os.path.join(self.media, n) for n in ("red.png", "blue.png", "clip.mp4", "notes.txt")))
        wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#uploads li.done")) == 3, timeout=30, message="3 uploads done")
        bars = d.find_elements(By.CSS_SELECTOR, "#uploads li.done progress")
        self.assertEqual([b.get_attribute("value") for b in bars], ["100"] * 3, "a progress bar per file, full")
        failed = d.find_elements(By.CSS_SELECTOR, "#uploads li.failed")
        self.assertEqual(len(failed), 1)
        self.assertIn('"notes.txt" is not a type the screens can play', failed[0].text)
        # By drag and drop: a File in a DataTransfer, dropped on the zone.
        png = base64.b64encode(self.read("blue.png")).decode()
        d.execute_script("""const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
            const dt = new DataTransfer(); dt.items.add(new File([bytes], 'dropped one.png', {type: 'image/png'}));
            document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));""",
                         png)
        wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#uploads li.done")) == 4, timeout=30, message="dropped upload")
        wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#media tr")) == 4, message="4 media listed")
        status, _, body = self.hub.request("GET", "/api/v1/media", self.admin)
        names = sorted(m["name"] for m in json.loads(body))
        self.assertEqual(names, ["blue.png", "clip.mp4", "dropped-one.png", "red.png"], "notes.txt never reached the hub")
        # The hub refuses it too, whatever a client checks.
        status, _, _ = self.hub.request("PUT", "/api/v1/media/notes.txt", self.admin, b"text", "text/plain")
        self.assertEqual(status, 400)
        # Thumbnails: images drawn from their bytes; the video a frame the
        # hub grabbed (GStreamer), 320 px wide as well.
        wait(d, lambda _: len([i for i in d.find_elements(By.CSS_SELECTOR, "#media img.thumb")
                               if d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i) == 320]) == 4,
             timeout=30, message="3 image thumbnails and the video's frame loaded")
        row = d.find_element(By.CSS_SELECTOR, '#media tr[data-name="clip.mp4"]')
        self.assertTrue(row.find_elements(By.CSS_SELECTOR, 'img.thumb[alt="Preview of clip.mp4"]'))
        self.assertIn("Video (video/mp4)", row.text)
        self.assertIn("not used", row.text)
        red = d.find_element(By.CSS_SELECTOR, '#media tr[data-name="red.png"]')
        self.assertIn("Image (image/png)", red.text)
        self.assertIn(f"{os.path.getsize(os.path.join(self.media, 'red.png'))} B", red.text)
        self.shots("content")

    def test_2_bad_input_publishes_nothing(self):
        d = self.driver
        self.go("schedule?target=groups/lobby", lambda d: d.find_elements(By.ID, "review-changes"))
        self.set_value(d.find_element(By.ID, "schedule-timezone"), "Europe/Oslo")
        # A name with HTML: refused, shown as the characters typed.
        self.add_playlist(HTML_NAME)
        self.review()
        self.assertIn(f'Playlist name "{HTML_NAME}" may use only letters', self.review_errors())
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#schedule-error b, .playlist b"), [], "the HTML was not interpreted")
        self.assertEqual(self.playlist(HTML_NAME).find_element(By.CSS_SELECTOR, ".pl-name").text, HTML_NAME)
        self.assertIn(f'Playlist "{HTML_NAME}" is empty', self.review_errors())
        self.click(self.playlist(HTML_NAME).find_element(By.XPATH, ".//button[starts-with(text(), 'Remove playlist')]"))
        # An empty playlist.
        self.add_playlist("promo")
        self.review()
        self.assertIn('Playlist "promo" is empty: add at least one medium', self.review_errors())
        self.add_item("promo", "red.png", "8", "cover")
        self.add_item("promo", "clip.mp4")
        self.add_item("promo", "blue.png", "5")
        # Reorder: blue up above the video.
        self.click(self.playlist("promo").find_elements(By.CSS_SELECTOR, ".item")[2]
                   .find_element(By.XPATH, ".//button[starts-with(@aria-label, 'Move item 3')]"))
        self.add_playlist("loop")
        self.add_item("loop", "dropped-one.png", "10")
        self.set_value(d.find_element(By.ID, "schedule-default"), "loop")
        # An entry whose until equals its from.
        name = d.find_element(By.ID, "new-entry-name")
        name.send_keys("weekdays")
        self.click(d.find_element(By.ID, "add-entry"))
        entry = wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, '.entry[data-entry="weekdays"]'), message="entry")[0]
        self.set_value(entry.find_element(By.CSS_SELECTOR, ".entry-playlist"), "promo")
        self.set_value(entry.find_element(By.CSS_SELECTOR, ".entry-priority"), "10")
        for day in ("sat", "sun"):
            self.click(entry.find_element(By.CSS_SELECTOR, f'input[data-day="{day}"]'))
        self.set_value(entry.find_element(By.CSS_SELECTOR, ".entry-from"), "09:00")
        self.set_value(entry.find_element(By.CSS_SELECTOR, ".entry-until"), "09:00")
        self.review()
        self.assertIn('Entry "weekdays": until (09:00) is the same as from', self.review_errors())
        self.assertEqual(d.find_elements(By.ID, "publish"), [])
        self.assertEqual(self.version(), 0, "nothing was published")
        status, _, _ = self.hub.request("GET", "/api/v1/schedules/groups/lobby", self.admin)
        self.assertEqual(status, 404, "no schedule stored")
        self.set_value(entry.find_element(By.CSS_SELECTOR, ".entry-until"), "17:00")

    def test_3_review_and_publish(self):
        d = self.driver
        self.review()
        self.assertEqual(self.review_errors(), "")
        review = d.find_element(By.ID, "review")
        for medium in ("red.png", "blue.png", "clip.mp4", "dropped-one.png"):
            self.assertIn(medium, review.find_element(By.CSS_SELECTOR, ".assets-added").text)
        self.assertIn("weekdays: plays promo, mon,tue,wed,thu,fri, 09:00-17:00, priority 10",
                      review.find_element(By.CSS_SELECTOR, ".entries-added").text)
        self.assertEqual(d.find_element(By.ID, "review-devices").text, "Devices affected: 1 (lobby-01)")
        self.shots("publish-review")
        self.element_shot("review", "publish-review-desktop")
        self.assertEqual(self.version(), 0, "a review publishes nothing")
        self.click(d.find_element(By.ID, "publish"))
        wait(d, lambda _: d.find_elements(By.ID, "published"), message="published")
        v = self.version()
        self.assertGreater(v, 0)
        self.assertEqual(d.find_element(By.ID, "published").text, f"Published as version {v}.")
        status, _, text = self.hub.request("GET", "/api/v1/schedules/groups/lobby", self.admin)
        text = text.decode()
        self.assertEqual(status, 200)
        # The order after the reorder, the fit and durations as set in the page.
        self.assertIn("[playlist promo]\nred.png 8000ms cover\nblue.png 5000ms\nclip.mp4\n", text)
        self.assertIn("[window weekdays]\nplaylist = promo\ndays = mon, tue, wed, thu, fri\ntime = 09:00-17:00\npriority = 10\n", text)
        self.assertIn("default = loop", text)
        Content.published = v

    def test_4_adoption_bar(self):
        d = self.driver
        v = Content.published
        wait(d, lambda _: d.find_element(By.ID, "adoption-text").text == f"0 of 1 screens on v{v}", message="0 of 1")
        self.assertIn("lobby-01", d.find_element(By.ID, "adoption-behind").get_attribute("textContent"))
        self.hub.heartbeat("lobby-01", self.tokens["lobby-01"], version=v)
        wait(d, lambda _: d.find_element(By.ID, "adoption-text").text == f"1 of 1 screens on v{v}", timeout=20,
             message="the bar follows the heartbeat by itself")
        self.assertEqual(d.find_element(By.ID, "adoption-bar").get_attribute("value"), "1")

    def test_5_week_view(self):
        d = self.driver
        self.set_value(d.find_element(By.ID, "week-target"), "groups/lobby")
        self.set_value(d.find_element(By.ID, "week-start"), WEEK)

        def cell(date, local):
            return d.find_elements(By.CSS_SELECTOR, f'.week-day[data-date="{date}"] li.hour[data-local="{local}"]')

        wait(d, lambda _: cell(WEEK, "09:00") and "promo" in cell(WEEK, "09:00")[0].text, message="week drawn")
        self.assertIn("groups/lobby schedule, in Europe/Oslo", d.find_element(By.ID, "week-note").text)
        for hour in ("09:00", "12:00", "16:00"):
            self.assertIn("promo", cell(WEEK, hour)[0].text, hour)
            self.assertIn("sched", cell(WEEK, hour)[0].get_attribute("class"))
        for hour in ("08:00", "17:00", "23:00"):
            self.assertEqual(cell(WEEK, hour)[0].find_element(By.CSS_SELECTOR, ".hour-play").text, "loop", hour)
        self.assertIn("promo", cell("2026-03-27", "10:00")[0].text, "Friday")
        self.assertEqual(cell("2026-03-28", "10:00")[0].find_element(By.CSS_SELECTOR, ".hour-play").text, "loop", "Saturday")
        # Sunday 29 March: 23 hours, no 02:00.
        sunday = d.find_element(By.CSS_SELECTOR, '.week-day[data-date="2026-03-29"]')
        self.assertEqual(len(sunday.find_elements(By.CSS_SELECTOR, "li.hour")), 23)
        self.assertEqual(cell("2026-03-29", "02:00"), [])
        self.assertIn("clocks change", sunday.text)
        # The hub's answer agrees: 09:00 local on Monday is 08:00 UTC (CET).
        self.assertEqual(cell(WEEK, "09:00")[0].get_attribute("data-at"), "2026-03-23T08:00:00Z")
        self.shots("schedule")
        self.element_shot("week", "week-desktop")

    def test_6_delete_in_use_is_refused(self):
        d = self.driver
        self.go("content", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#media tr")) == 4)
        red = d.find_element(By.CSS_SELECTOR, '#media tr[data-name="red.png"]')
        self.assertIn("promo (groups/lobby)", red.text, "where it is used")
        button = red.find_element(By.CSS_SELECTOR, "button.delete")
        self.click(button)
        self.assertEqual(button.text, "Really delete red.png?")
        self.click(button)
        wait(d, lambda _: "Cannot delete" in d.find_element(By.ID, "content-error").text, message="refusal")
        self.assertIn('red.png is in use: playlist "promo" of the groups/lobby schedule',
                      d.find_element(By.ID, "content-error").text)
        status, _, body = self.hub.request("DELETE", "/api/v1/media/red.png", self.admin)
        self.assertEqual(status, 409, body)
        self.assertTrue(os.path.exists(os.path.join(self.hub.data, "library", "red.png")))
        # One not in use goes: upload it again, then delete it.
        status, _, _ = self.hub.request("PUT", "/api/v1/media/spare.png", self.admin,
                                        self.read("red.png"), "image/png")
        self.assertEqual(status, 200)
        d.refresh()
        spare = wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, '#media tr[data-name="spare.png"] button.delete'),
                     message="spare listed")[0]
        self.click(spare)
        self.click(spare)
        wait(d, lambda _: not d.find_elements(By.CSS_SELECTOR, '#media tr[data-name="spare.png"]'), message="spare deleted")

    def test_7_proof_of_play(self):
        d = self.driver
        red = hashlib.sha256(self.read("red.png")).hexdigest()
        blue = hashlib.sha256(self.read("blue.png")).hexdigest()
        today = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        records = [{"id": f"lobby-01-p{i}", "asset": "sha256:" + a, "url": None, "playlist": "promo",
                    "started_at": (today - datetime.timedelta(minutes=10 - i)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "duration_ms": 8000, "completed": True, "reason": None}
                   for i, a in enumerate((red, red, blue))]
        body = "\n".join(json.dumps(r) for r in records) + "\n"
        status, _, resp = self.hub.request("POST", "/v1/devices/lobby-01/plays", self.tokens["lobby-01"], body,
                                           "application/x-ndjson")
        self.assertEqual(status, 204, resp)
        day = today.date().isoformat()
        self.go(f"plays?from={day}&until={day}", lambda d: "3 plays" in d.find_element(By.ID, "plays-summary").text)
        rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#plays-by-asset tr")]
        # dropped-one.png has blue.png's bytes: the library names the digest twice.
        self.assertEqual(sorted(rows), sorted([f"{day} red.png 2 16 s", f"{day} blue.png, dropped-one.png 1 8 s"]))
        device_rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#plays-by-device tr")]
        self.assertEqual(device_rows, [f"{day} lobby-01 3 24 s"])
        self.shots("plays")
        # CSV, with the session's token, as the page's button fetches it.
        token = self.session_token()
        status, headers, data = self.hub.request("GET", f"/api/v1/plays?from={day}&until={day}&format=csv", token)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/csv"))
        self.assertIn("attachment", headers["content-disposition"])
        table = list(csv.DictReader(io.StringIO(data.decode())))
        self.assertEqual(sorted(r["id"] for r in table), ["lobby-01-p0", "lobby-01-p1", "lobby-01-p2"])
        self.assertEqual({r["device_id"] for r in table}, {"lobby-01"})
        self.assertEqual([r["media"] for r in sorted(table, key=lambda r: r["id"])][:2], ["red.png", "red.png"])
        self.assertEqual({r["duration_ms"] for r in table}, {"8000"})
        # Another day: none.
        status, _, data = self.hub.request("GET", "/api/v1/plays?from=2020-01-01&until=2020-01-02&format=csv", token)
        self.assertEqual(len(data.decode().strip().splitlines()), 1, "the header only")
        # The page's button downloads without an error.
        self.click(d.find_element(By.ID, "plays-csv"))
        self.assertEqual(d.find_element(By.ID, "plays-error").text, "")

    def test_8_audit_log(self):
        d = self.driver
        self.go("audit", lambda d: d.find_elements(By.CSS_SELECTOR, "#audit tr[data-action]"))
        rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#audit tr")]
        self.assertTrue(any("ed" in r and "Published a schedule" in r and "groups/lobby" in r
                            and f"version {Content.published}" in r for r in rows), rows)
        self.assertTrue(any("Uploaded a medium" in r and "clip.mp4" in r for r in rows), rows)
        self.assertTrue(any("ed" in r and "Deleted a medium" in r and "spare.png" in r for r in rows), rows)
        self.assertFalse(any("red.png" in r and "Deleted" in r for r in rows), "a refused delete is not a change")
        self.shots("audit")

    def test_9_viewer_cannot_publish(self):
        d = self.driver
        d.find_element(By.ID, "sign-out").click()
        wait(d, lambda _: d.find_elements(By.ID, "signin-name"), message="signed out")
        harness.sign_in(d, self.hub, "vic")
        self.go("schedule?target=groups/lobby", lambda d: d.find_elements(By.CSS_SELECTOR, '.playlist[data-playlist="promo"]'))
        self.assertEqual(d.find_elements(By.ID, "review-changes"), [], "no Review button")
        self.assertEqual(d.find_elements(By.ID, "publish"), [], "no Publish button")
        self.assertEqual(d.find_elements(By.ID, "add-playlist"), [])
        self.assertFalse(d.find_element(By.ID, "schedule-timezone").is_enabled())
        wait(d, lambda _: cell_text(d, "09:00"), message="the viewer sees the week")
        self.go("content", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#media tr")) == 4)
        self.assertEqual(d.find_elements(By.ID, "drop-zone"), [])
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "button.delete"), [])
        token = self.session_token()
        text = "timezone = UTC\n\n[playlist p]\nred.png 5s\n"
        for method, path, body, ctype in (("PUT", "/api/v1/schedules/groups/lobby", text, "text/plain"),
                                          ("POST", "/api/v1/schedules/groups/lobby/preview", text, "text/plain"),
                                          ("DELETE", "/api/v1/media/blue.png", None, None),
                                          ("PUT", "/api/v1/media/x.png", b"x", "image/png")):
            status, _, _ = self.hub.request(method, path, token, body, ctype or "application/json")
            self.assertEqual(status, 403, f"{method} {path} as a viewer")
        # Reading is allowed.
        for path in ("/api/v1/plays?format=csv", "/api/v1/audit", "/api/v1/schedules/groups/lobby/week", "/api/v1/media/red.png"):
            status, _, _ = self.hub.request("GET", path, token)
            self.assertEqual(status, 200, path)
        self.assertEqual(self.version(), Content.published, "nothing more was published")

    def test_z_no_browser_errors(self):
        # The refused delete's 409 and the 404 of a group without a schedule
        # are logged by Chromium as failed fetches; anything else (a CSP
        # violation, a script error) is a failure.
        errors = [e for e in harness.console_errors(self.driver)
                  if not any(code in e["message"] for code in ("409", "404"))]
        self.assertEqual(errors, [])


def cell_text(d, local):
    cells = d.find_elements(By.CSS_SELECTOR, f'li.hour[data-local="{local}"]')
    return cells and cells[0].text


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
