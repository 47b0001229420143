#!/usr/bin/env python3
"""tests/console/tst_console_fleet_10k.py — the fleet page with 10,000
registered devices (CTest `console_fleet_10k_browser_test`, label `browser`).

Registers 10,000 devices through the API (a few hundred of them send a
heartbeat, some with sync errors), signs in, and measures in the browser the
time from navigation start to the first device list on screen (the page's
performance mark, fleet.js); then a filtered search and the next page. Prints
the times; fails when the first render is over the budget: 1,000 ms (the
issue's target), or STOA_CONSOLE_RENDER_BUDGET_MS (the sanitizer build's
hub is several times slower).
Usage: tst_console_fleet_10k.py STOA_HUB_BIN SCREENSHOT_DIR
"""
import os
import statistics
import sys
import threading
import time
import unittest

import harness
from harness import By, wait

HUB_BIN = sys.argv[1] if len(sys.argv) > 1 else "stoa-hub"
SHOTS = sys.argv[2] if len(sys.argv) > 2 else "console-screenshots"
DEVICES = 10_000
BUDGET_MS = float(os.environ.get("STOA_CONSOLE_RENDER_BUDGET_MS", "1000"))


class Fleet10k(harness.HubAndBrowserTest):
    @classmethod
    def setUpClass(cls):
        cls.hub = harness.Hub(HUB_BIN)
        admin = cls.hub.operator("ada", "admin")
        cls.hub.start()
        ids = [f"screen-{i:05d}" for i in range(DEVICES)]
        started = time.monotonic()
        # Two connections: the hub has two HTTP threads; each add commits.
        tokens = {}
        halves = [ids[0::2], ids[1::2]]
        errors = []

        def add(part):
            try:
                tokens.update(cls.hub.add_devices(admin, part))
            except Exception as e:  # reported below: a thread cannot fail the test itself
                errors.append(e)
        threads = [threading.Thread(target=add, args=(p,)) for p in halves]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        print(f"registered {DEVICES} devices in {time.monotonic() - started:.1f} s", flush=True)
        for n, i in enumerate(ids[:300]):
            cls.hub.heartbeat(i, tokens[i], version=1 + n % 3, failures=1 if n % 50 == 0 else 0,
                              last_error="HTTP 503 from http://hub/v1/manifest.json" if n % 50 == 0 else None)
        cls.driver = harness.browser(1280, 720)

    def rendered_ms(self):
        """Navigation start to the first list on screen, as the page measured it."""
        return float(self.driver.find_element(By.ID, "main").get_attribute("data-fleet-rendered"))

    def test_fleet_of_10000(self):
        d = self.driver
        harness.sign_in(d, self.hub, "ada")
        wait(d, lambda _: d.find_element(By.CSS_SELECTOR, "#count-never .n").text == f"{DEVICES - 300:,}",
             message="counts of the whole fleet")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "#count-online .n").text, "300")
        times = []
        for _ in range(3):
            # A fresh navigation each time: modules, the API call and the rows.
            d.get("about:blank")
            d.get(self.hub.url + "/console/#/fleet")
            wait(d, lambda _: d.find_element(By.ID, "main").get_attribute("data-fleet-rendered"), timeout=30,
                 message="first render")
            times.append(self.rendered_ms())
        rows = d.find_elements(By.CSS_SELECTOR, "#devices tr[data-device]")
        self.assertEqual(len(rows), 50, "one page of rows, not 10,000")
        self.assertIn("10,000", d.find_element(By.ID, "list-summary").text)
        median = statistics.median(times)
        print(f"fleet page, {DEVICES:,} devices: first render {', '.join(f'{t:.0f}' for t in times)} ms "
              f"(median {median:.0f} ms; budget {BUDGET_MS:.0f} ms)", flush=True)
        harness.screenshot(d, SHOTS, "fleet-10k-desktop")

        # The last page, and a search, answer quickly too.
        started = time.monotonic()
        d.get(self.hub.url + "/console/#/fleet?sort=id&page=200")
        wait(d, lambda _: d.find_elements(By.CSS_SELECTOR, "tr[data-device='screen-09999']"), timeout=30,
             message="page 200")
        print(f"page 200 of 200: {1000 * (time.monotonic() - started):.0f} ms (WebDriver-side)", flush=True)
        started = time.monotonic()
        d.find_element(By.ID, "f-q").send_keys("screen-0424")
        wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#devices tr[data-device]")) == 10, timeout=30,
             message="search")
        print(f"search (250 ms debounce included): {1000 * (time.monotonic() - started):.0f} ms", flush=True)
        d.set_window_size(390, 844)
        d.find_element(By.ID, "f-q").clear()
        d.get(self.hub.url + "/console/#/fleet?state=online")
        wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#devices tr[data-device]")) == 50, message="phone")
        harness.screenshot(d, SHOTS, "fleet-10k-phone")
        self.assertLess(median, BUDGET_MS, f"first render {median:.0f} ms")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
