#!/usr/bin/env python3
"""tests/console/tst_console.py — the operator console in a real browser
(CTest `console_browser_test`, label `browser`).

What it proves, against a real `stoa-hub serve` (SQLite) and headless
Chromium: the console's files come with strict headers and no directory
traversal; an admin signs in and the fleet page counts and lists devices
that sent heartbeats (state, group, tags, version, playing, temperature,
free disk, last seen), marks a failing device by an icon and words as well
as colour, filters, searches, sorts and pages; text a device sent that looks
like HTML is shown as text and never runs; the device page shows the latest
screenshot and a new one appears by itself after "Take screenshot"; a viewer
sees no controls and the API answers 403; sign-out ends the session on the
hub; an expired session goes back to sign-in; the pages fit 1280x720 and
390 px, and every control has a label. Screenshots of each page at both
widths go to the build directory (argv[2]).
Usage: tst_console.py STOA_HUB_BIN SCREENSHOT_DIR
"""
import json
import sys
import unittest

import harness
from harness import By, wait

HUB_BIN = sys.argv[1] if len(sys.argv) > 1 else "stoa-hub"
SHOTS = sys.argv[2] if len(sys.argv) > 2 else "console-screenshots"
XSS = '<img src=x onerror="window.__stoaXss=1"><script>window.__stoaXss=2</script>'


class Console(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        cls.hub = harness.Hub(HUB_BIN)
        cls.admin = cls.hub.operator("ada", "admin")
        cls.hub.operator("vic", "viewer")
        cls.hub.start()
        h = cls.hub
        cls.tokens = h.add_devices(cls.admin, ["lobby-01", "lobby-02", "cafe-01", "xss-01"])
        h.heartbeat("lobby-01", cls.tokens["lobby-01"], version=3, temp=48.6, disk=2_500_000_000,
                    now_playing={"playlist": "morning", "asset": "sha256:" + "cd" * 32, "url": None})
        h.heartbeat("lobby-02", cls.tokens["lobby-02"], version=2, failures=4,
                    last_error="Failed to connect to hub.example port 443 after 3 ms: Connection refused")
        h.heartbeat("xss-01", cls.tokens["xss-01"], version=3,
                    now_playing={"playlist": XSS, "asset": None, "url": None}, last_error=XSS)
        for dev, body in (("lobby-01", {"tags": ["east", "floor-2"]}), ("lobby-02", {"tags": ["west"]})):
            status, _, data = h.request("PUT", f"/api/v1/devices/{dev}/tags", cls.admin, body)
            assert status == 204, (status, data)
        for dev in ("lobby-01", "lobby-02"):
            status, _, data = h.request("PUT", f"/api/v1/devices/{dev}/group", cls.admin, {"group": "lobby"})
            assert status == 200, (status, data)
        cls.driver = harness.browser(1280, 720)
        h.publish_image(cls.admin, harness.jpeg(cls.driver, "logo", "#7c3aed"))

    # -- helpers ---------------------------------------------------------------------------

    def rows(self):
        return self.driver.find_elements(By.CSS_SELECTOR, "#devices tr[data-device]")

    def row_ids(self):
        # One script: the list may be redrawn between two WebDriver calls.
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#devices tr[data-device]')].map(r => r.dataset.device)")

    def wait_ids(self, expected, message):
        wait(self.driver, lambda d: self.row_ids() == expected, message=f"{message}: rows {self.row_ids()}")

    def session_token(self):
        return json.loads(self.driver.execute_script("return sessionStorage.getItem('stoa.session')"))["token"]

    def sign_out(self):
        self.driver.find_element(By.ID, "sign-out").click()
        wait(self.driver, lambda d: d.find_elements(By.ID, "signin-name"), message="sign-in form after sign-out")

    def device_upload_screenshot(self, device, text, colour):
        jpeg = harness.jpeg(self.driver, text, colour)
        status, _, data = self.hub.request("PUT", f"/v1/devices/{device}/screenshot", self.tokens[device], jpeg,
                                           content_type="image/jpeg")
        self.assertEqual(status, 204, data)

    def unlabelled_controls(self):
        return self.driver.execute_script("""
            return [...document.querySelectorAll('input, select, button, a[href]')]
              .filter(e => e.offsetParent !== null)
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                           && !(e.textContent || '').trim())
              .map(e => e.outerHTML.slice(0, 80));""")

    # -- the tests, in order (one browser, one hub) ------------------------------------------

    def test_1_files_and_headers(self):
        h = self.hub
        status, headers, _ = h.request("GET", "/")
        self.assertEqual((status, headers.get("location")), (302, "/console/"))
        status, headers, body = h.request("GET", "/console/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        csp = headers["content-security-policy"]
        for part in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'none'"):
            self.assertIn(part, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(headers["x-frame-options"], "DENY")
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(headers["cache-control"], "no-cache")
        self.assertNotIn(b"<script>", body, "no inline script in the page")
        status, headers, _ = h.request("GET", "/console/app.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        status, headers, _ = h.request("GET", "/console/style.css")
        conn = harness.http.client.HTTPConnection("127.0.0.1", h.port)
        conn.request("GET", "/console/style.css", headers={"If-None-Match": headers["etag"]})
        self.assertEqual(conn.getresponse().status, 304, "an unchanged file revalidates to 304")
        conn.close()
        for bad in ("/console/../hub.db", "/console/%2e%2e/hub.db", "/console/..%2fhub.db", "/console/.hidden.js",
                    "/console/app.js/", "/console/nothing.js", "/console/app.exe", "/console//app.js",
                    "/console/%2fetc/passwd.txt"):
            status, headers, _ = h.request("GET", bad)
            self.assertEqual(status, 404, bad)
        # The API's answers: never sniffed, never cached; no CORS grant.
        status, headers, _ = h.request("GET", "/api/v1/whoami", self.admin)
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertNotIn("access-control-allow-origin", headers)
        # A cross-site form can carry no Authorization header: refused.
        status, _, _ = h.request("POST", "/api/v1/devices/lobby-01/commands", None, "type=screenshot",
                                 content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 401)
        status, _, _ = h.request("GET", "/api/v1/devices/lobby-01/screenshot")
        self.assertEqual(status, 401, "screenshots need a credential")

    def test_2_device_list_contract(self):
        status, _, body = self.hub.request("GET", "/api/v1/devices", self.admin)
        self.assertEqual(status, 200)
        whole = json.loads(body)
        self.assertIsInstance(whole, list, "without paging parameters: the whole array, as documented")
        self.assertEqual([d["id"] for d in whole], ["cafe-01", "lobby-01", "lobby-02", "xss-01"])
        status, _, body = self.hub.request("GET", "/api/v1/devices?limit=2&offset=1&sort=id", self.admin)
        page = json.loads(body)
        self.assertEqual((page["total"], page["fleet"], [d["id"] for d in page["devices"]]),
                         (4, 4, ["lobby-01", "lobby-02"]))
        self.assertEqual(page["counts"], {"online": 3, "stale": 0, "offline": 0, "never": 1})
        self.assertEqual(page["devices"][0]["heartbeat"]["cpu_temp_c"], 48.6)
        self.assertEqual(page["groups"], {"lobby": 2})
        status, _, body = self.hub.request("GET", "/api/v1/devices?limit=10&q=LOBBY&tag=east", self.admin)
        self.assertEqual([d["id"] for d in json.loads(body)["devices"]], ["lobby-01"])
        status, _, _ = self.hub.request("GET", "/api/v1/devices?limit=0", self.admin)
        self.assertEqual(status, 400)
        # Names a device or an operator gives are checked: no markup gets in.
        status, _, _ = self.hub.request("PUT", "/api/v1/devices/lobby-01/tags", self.admin, {"tags": ["<b>x</b>"]})
        self.assertEqual(status, 400)

    def test_3_admin_fleet_page(self):
        d = self.driver
        harness.sign_in(d, self.hub, "ada")
        self.assertEqual(d.find_element(By.ID, "who-role").text, "admin")
        # Counts first, then the list (attention first: never-seen before online).
        wait(d, lambda _: d.find_element(By.CSS_SELECTOR, "#count-online .n").text == "3", message="online count")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "#count-never .n").text, "1")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "#count-offline .n").text, "0")
        self.wait_ids(["cafe-01", "lobby-01", "lobby-02", "xss-01"], "sorted by state")
        row = d.find_element(By.CSS_SELECTOR, "tr[data-device='lobby-01']")
        text = row.text
        for want in ("Online", "lobby", "east", "floor-2", "v3", "morning", "49 °C", "2.5 GB"):
            self.assertIn(want, text)
        self.assertRegex(row.find_element(By.TAG_NAME, "time").text, r"^(\d+ s ago|just now)$")
        # The failing device: class (colour), an icon and words.
        bad = d.find_element(By.CSS_SELECTOR, "tr[data-device='lobby-02']")
        self.assertIn("failing", bad.get_attribute("class"))
        badge = bad.find_element(By.CSS_SELECTOR, ".badge.failing")
        self.assertEqual(badge.find_element(By.CLASS_NAME, "icon").text, "⚠")
        self.assertIn("Sync failing", badge.text)
        never = d.find_element(By.CSS_SELECTOR, "tr[data-device='cafe-01']")
        self.assertIn("○", never.text)
        self.assertIn("Never seen", never.text)
        self.assertNotEqual(bad.value_of_css_property("background-color"),
                            d.find_element(By.CSS_SELECTOR, "tr[data-device='lobby-01']").value_of_css_property("background-color"))
        # Text from a device is text: the markup shows literally and never ran.
        xss = d.find_element(By.CSS_SELECTOR, "tr[data-device='xss-01']")
        self.assertIn('<img src=x onerror="window.__stoaXss=1">', xss.text)
        self.assertEqual(xss.find_elements(By.TAG_NAME, "img"), [])
        self.assertIsNone(d.execute_script("return window.__stoaXss"))
        # The rows fit 1280 px: a long word from a device wraps in its cell (Firefox breaks no
        # line between "> and <script>, where Chromium does).
        self.assertLessEqual(d.execute_script(
            "const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth"), 0,
            "no sideways scrolling of the fleet list at 1280 px")
        self.assertEqual(self.unlabelled_controls(), [])
        harness.screenshot(d, SHOTS, "fleet-desktop")

        # Filters, search, sort: the hub answers, the address keeps them.
        from selenium.webdriver.support.select import Select
        Select(d.find_element(By.ID, "f-state")).select_by_value("never")
        self.wait_ids(["cafe-01"], "state filter")
        self.assertIn("state=never", d.current_url)
        Select(d.find_element(By.ID, "f-state")).select_by_value("")
        d.find_element(By.ID, "f-q").send_keys("LOBBY")
        self.wait_ids(["lobby-01", "lobby-02"], "search by id")
        Select(d.find_element(By.ID, "f-tag")).select_by_value("west")
        self.wait_ids(["lobby-02"], "tag filter")
        Select(d.find_element(By.ID, "f-tag")).select_by_value("")
        Select(d.find_element(By.ID, "f-version")).select_by_value("2")
        self.wait_ids(["lobby-02"], "version filter")
        Select(d.find_element(By.ID, "f-version")).select_by_value("")
        Select(d.find_element(By.ID, "f-sort")).select_by_value("id")
        Select(d.find_element(By.ID, "f-order")).select_by_value("desc")
        self.wait_ids(["lobby-02", "lobby-01"], "sort by id, descending")
        d.find_element(By.ID, "f-q").clear()
        d.find_element(By.ID, "f-q").send_keys("x")  # the input event: a new search
        self.wait_ids(["xss-01"], "search again")
        # A reload shows the same list (the filters are in the address).
        d.refresh()
        self.wait_ids(["xss-01"], "after reload")
        self.assertEqual(d.find_element(By.ID, "f-q").get_attribute("value"), "x")
        d.get(self.hub.url + "/console/#/fleet")
        self.wait_ids(["cafe-01", "lobby-01", "lobby-02", "xss-01"], "unfiltered")

    def test_4_device_page_and_screenshot(self):
        d = self.driver
        self.device_upload_screenshot("lobby-01", "first picture", "#1d4ed8")
        d.find_element(By.CSS_SELECTOR, "tr[data-device='lobby-01'] a").click()
        wait(d, lambda _: d.find_element(By.ID, "screenshot").get_attribute("data-taken-at"), message="first screenshot")
        img = d.find_element(By.ID, "screenshot")
        self.assertTrue(img.get_attribute("src").startswith("blob:"))
        self.assertTrue(d.execute_script("return arguments[0].complete && arguments[0].naturalWidth === 640", img))
        first_src = img.get_attribute("src")
        hb = d.find_element(By.ID, "heartbeat").text
        for want in ("morning", "49 °C", "2.5 GB", "trusted (ntp)", "v3"):
            self.assertIn(want, hb)
        self.assertIn("Online", d.find_element(By.ID, "timeline-summary").text)
        self.assertIn("No sync errors", d.find_element(By.ID, "sync-errors").text)
        # Take a screenshot: the command goes out, the device answers, the
        # picture changes by itself (the page polls).
        d.find_element(By.ID, "take-screenshot").click()
        wait(d, lambda _: "Asked" in d.find_element(By.ID, "screenshot-status").text, message="command sent")
        status, _, body = self.hub.request("GET", "/api/v1/devices/lobby-01/commands", self.admin)
        self.assertEqual([c["type"] for c in json.loads(body)], ["screenshot"])
        self.device_upload_screenshot("lobby-01", "second picture", "#166534")
        wait(d, lambda _: d.find_element(By.ID, "screenshot").get_attribute("src") != first_src, timeout=20,
             message="the new screenshot appears by itself")
        wait(d, lambda _: "arrived" in d.find_element(By.ID, "screenshot-status").text, message="arrival said")
        wait(d, lambda _: "screenshot" in d.find_element(By.ID, "commands").text, message="commands list")
        self.assertIn("done", d.find_element(By.ID, "commands").text)
        self.assertEqual(self.unlabelled_controls(), [])
        harness.screenshot(d, SHOTS, "device-desktop")

        # The failing device's page says its error in plain words.
        d.get(self.hub.url + "/console/#/device/lobby-02")
        wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, "#device-alert .alert"), message="failing alert")
        self.assertIn("cannot connect to the hub", d.find_element(By.ID, "device-alert").text)
        self.assertIn("cannot connect to the hub", d.find_element(By.ID, "sync-errors").text)
        harness.screenshot(d, SHOTS, "device-failing-desktop")
        d.get(self.hub.url + "/console/#/device/xss-01")
        wait(d, lambda _: XSS[:20] in d.find_element(By.ID, "heartbeat").text, message="markup shown as text")
        self.assertIsNone(d.execute_script("return window.__stoaXss"))

    def test_5_phone_width(self):
        d = self.driver
        d.set_window_size(390, 844)
        d.get(self.hub.url + "/console/#/fleet")
        wait(d, lambda _: len(self.rows()) == 4, message="fleet at 390 px")
        self.assertLessEqual(d.execute_script("return document.documentElement.scrollWidth"),
                             d.execute_script("return window.innerWidth"), "no sideways scrolling at 390 px")
        # Cards: each cell says what it is.
        label = d.execute_script("""return getComputedStyle(
            document.querySelector("tr[data-device='lobby-01'] td[data-label='Group']"), '::before').content""")
        # Chromium computes the text; Firefox keeps the rule (and draws the same text).
        self.assertIn(label, ('"Group"', 'attr(data-label)'))
        harness.screenshot(d, SHOTS, "fleet-phone")
        d.get(self.hub.url + "/console/#/device/lobby-01")
        wait(d, lambda _: d.find_element(By.ID, "screenshot").get_attribute("data-taken-at"), message="device at 390 px")
        self.assertLessEqual(d.execute_script("return document.documentElement.scrollWidth"),
                             d.execute_script("return window.innerWidth"))
        harness.screenshot(d, SHOTS, "device-phone")
        d.set_window_size(1280, 720)

    def test_6_keyboard(self):
        d = self.driver
        d.get(self.hub.url + "/console/#/fleet")
        wait(d, lambda _: len(self.rows()) == 4, message="fleet")
        from selenium.webdriver.common.keys import Keys
        # From the page's start (the header's first link), Tab reaches the search box, then a device
        # link. Focused by script: where a click on the body lands depends on the browser's layout.
        d.execute_script("document.querySelector('header a.brand').focus()")
        seen = []
        for _ in range(40):
            d.switch_to.active_element.send_keys(Keys.TAB)
            el = d.switch_to.active_element
            seen.append(el.get_attribute("id") or el.get_attribute("href") or el.tag_name)
            if el.get_attribute("class") == "device-link":
                break
        self.assertIn("f-q", seen)
        self.assertTrue(d.switch_to.active_element.get_attribute("class") == "device-link", seen)
        d.switch_to.active_element.send_keys(Keys.ENTER)
        wait(d, lambda _: "#/device/" in d.current_url, message="Enter opens the device")

    def test_7_sign_out_ends_the_session(self):
        d = self.driver
        d.get(self.hub.url + "/console/#/fleet")
        wait(d, lambda _: len(self.rows()) == 4, message="fleet")
        token = self.session_token()
        self.sign_out()
        status, _, _ = self.hub.request("GET", "/api/v1/whoami", token)
        self.assertEqual(status, 401, "the hub forgot the session")
        self.assertIsNone(d.execute_script("return sessionStorage.getItem('stoa.session')"))
        harness.screenshot(d, SHOTS, "signin-desktop")
        d.set_window_size(390, 844)
        harness.screenshot(d, SHOTS, "signin-phone")
        d.set_window_size(1280, 720)
        # A wrong password is refused in words.
        d.find_element(By.ID, "signin-name").send_keys("ada")
        d.find_element(By.ID, "signin-password").send_keys("not the password")
        d.find_element(By.ID, "signin-submit").click()
        wait(d, lambda _: "Wrong name or password" in d.find_element(By.ID, "signin-error").text, message="refusal")

    def test_8_viewer(self):
        d = self.driver
        harness.sign_in(d, self.hub, "vic")
        self.assertEqual(d.find_element(By.ID, "who-role").text, "viewer")
        d.get(self.hub.url + "/console/#/device/lobby-01")
        wait(d, lambda _: d.find_element(By.ID, "screenshot").get_attribute("data-taken-at"), message="viewer sees the screen")
        self.assertEqual(d.find_elements(By.ID, "take-screenshot"), [], "no command button for a viewer")
        harness.screenshot(d, SHOTS, "device-viewer-desktop")
        token = self.session_token()
        for method, path, body in (("POST", "/api/v1/devices/lobby-01/commands", {"type": "screenshot"}),
                                   ("PUT", "/api/v1/devices/lobby-01/tags", {"tags": ["x"]}),
                                   ("PUT", "/api/v1/devices/lobby-01/group", {"group": "x"}),
                                   ("POST", "/api/v1/devices", {"id": "new-01"})):
            status, _, _ = self.hub.request(method, path, token, body)
            self.assertEqual(status, 403, f"{method} {path} as a viewer")
        # Expired in the tab: back to sign-in without asking the hub.
        d.execute_script("""const s = JSON.parse(sessionStorage.getItem('stoa.session'));
                            s.expires_at = '2000-01-01T00:00:00Z'; sessionStorage.setItem('stoa.session', JSON.stringify(s));""")
        d.refresh()
        wait(d, lambda _: d.find_elements(By.ID, "signin-name"), message="expired session: sign-in")

    def test_9_no_browser_errors(self):
        errors = [e for e in harness.console_errors(self.driver) if "401" not in e["message"]]
        # The wrong password's 401 is logged by Chromium as a failed fetch; anything else (a CSP
        # violation, a script error) is a failure.
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
