"""tests/console/harness.py — a real `stoa-hub serve` and a headless Chromium
for the console's browser tests (CTest label `browser`).

Job: make a data directory, operators with passwords through the hub's own
command line (`operator add`, `operator passwd`, docs/hub.md), start
`stoa-hub serve` (SQLite) on a free port, register devices and send their
heartbeats and screenshots over the device API with their own tokens, and
drive a browser through Selenium: headless Chromium through chromedriver,
or, with STOA_CONSOLE_BROWSER=firefox, headless Firefox through its own
Marionette protocol (marionette.py: Debian has no geckodriver), so the same
test flows run in both.
Invariants: every wait is a WebDriverWait on a condition (or a bounded poll
of the hub's own answer), never a sleep; the hub and the browser are
stopped, and the data directory removed, whatever the test did.
"""
import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SKIP = 77  # CTest SKIP_RETURN_CODE: no Chromium/chromedriver/selenium here

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.remote.file_detector import UselessFileDetector
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import StaleElementReferenceException
except ImportError:
    print("skipped: python3-selenium is not installed (apt-get install python3-selenium)")
    sys.exit(SKIP)

PASSWORD = "correct horse battery staple"


def stop_process(proc):
    """Ends a child the test started (None or already ended: nothing to do):
    SIGTERM, as systemd stops it, then SIGKILL after 20 s; reaped either way."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Hub:
    def __init__(self, hub_bin, console_dir=None):
        self.bin = hub_bin
        self.dir = tempfile.mkdtemp(prefix="stoa-console-test-")
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        self.port = None
        self.console_dir = console_dir
        self.log_lines = []

    def cli(self, *args, stdin=None):
        r = subprocess.run([self.bin, *args, "--data-dir", self.data], input=stdin, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"stoa-hub {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r.stdout

    def operator(self, name, role):
        """An operator with a password (for the browser) and its API token (for set-up)."""
        token = self.cli("operator", "add", name, "--role", role).strip().splitlines()[-1]
        self.cli("operator", "passwd", name, stdin=PASSWORD + "\n")
        return token

    def start(self):
        args = [self.bin, "serve", "--data-dir", self.data, "--listen", "127.0.0.1:0"]
        if self.console_dir:
            args += ["--console-dir", self.console_dir]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        for line in self.proc.stderr:
            self.log_lines.append(line)
            m = re.search(r"serving http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if time.monotonic() > deadline:
                break
        if not self.port:
            raise RuntimeError("stoa-hub did not start: " + "".join(self.log_lines))
        # Keep reading its log so the pipe never fills.
        threading.Thread(target=lambda: [self.log_lines.append(l) for l in self.proc.stderr], daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, token=None, body=None, content_type="application/json", conn=None):
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if own:
            conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def add_devices(self, admin_token, ids):
        """Registers the devices through the API; their tokens by id."""
        tokens = {}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        for i in ids:
            status, _, data = self.request("POST", "/api/v1/devices", admin_token, {"id": i}, conn=conn)
            if status != 201:
                raise RuntimeError(f"device add {i}: {status} {data!r}")
            tokens[i] = json.loads(data)["token"]
        conn.close()
        return tokens

    def publish_image(self, token, data, name="logo.jpg"):
        """Uploads one image and publishes a fleet schedule that plays it:
        a command travels in the device's manifest, so one must exist."""
        status, _, body = self.request("PUT", f"/api/v1/media/{name}", token, data, content_type="image/jpeg")
        if status != 200:
            raise RuntimeError(f"media {name}: {status} {body!r}")
        status, _, body = self.request("PUT", "/api/v1/schedules/fleet", token,
                                       f"timezone = UTC\ndefault = main\n\n[playlist main]\n{name} 8s\n",
                                       content_type="text/plain")
        if status != 200:
            raise RuntimeError(f"schedule: {status} {body!r}")

    def heartbeat(self, device, token, **fields):
        body = {
            "device_id": device, "software_version": "0.1.0", "sent_at": "2026-01-01T00:00:00Z", "uptime_s": 3600,
            "manifest": {"version": fields.get("version", 1), "expires_at": "2030-01-01T00:00:00Z",
                         "stale": fields.get("stale", False)},
            "now_playing": fields.get("now_playing", {"playlist": "lobby", "asset": "sha256:" + "ab" * 32, "url": None}),
            "sync": {"last_success_at": None, "last_error": fields.get("last_error"),
                     "consecutive_failures": fields.get("failures", 0)},
            "cache": {"bytes_used": 123456789, "bytes_limit": 8000000000, "assets": 7},
            "clock": {"trusted": True, "source": "ntp"},
            "health": {"cpu_temp_c": fields.get("temp", 51.2), "throttled": False,
                       "disk_free_bytes": fields.get("disk", 1234567890)},
            "pending_commands": [],
        }
        status, _, data = self.request("POST", f"/v1/devices/{device}/status", token, body)
        if status != 204:
            raise RuntimeError(f"heartbeat {device}: {status} {data!r}")


BROWSER = os.environ.get("STOA_CONSOLE_BROWSER", "chromium")


class HubAndBrowserTest(unittest.TestCase):
    """A test class whose tests share one hub (cls.hub) and one browser
    (cls.driver), made by its setUpClass. tearDownClass quits the browser
    and stops the hub, each whatever happened to the other (either may still
    be None when setUpClass failed early). A class with more to clean up
    does it in its own tearDownClass around super().tearDownClass()."""
    hub = None
    driver = None

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.driver:
                cls.driver.quit()
        finally:
            if cls.hub:
                cls.hub.stop()


def browser(width, height):
    """The browser STOA_CONSOLE_BROWSER names (chromium, the default, or firefox), headless."""
    if BROWSER == "firefox":
        return firefox(width, height)
    if BROWSER != "chromium":
        raise RuntimeError(f"STOA_CONSOLE_BROWSER={BROWSER}: chromium or firefox")
    driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not os.path.exists(driver_bin) or not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        print("skipped: chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
        sys.exit(SKIP)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--window-size={width},{height}", "--force-device-scale-factor=1", "--lang=en-GB"):
        options.add_argument(a)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = ChromiumDriver(service=Service(driver_bin), options=options)
    driver.set_window_size(width, height)
    return driver


class ViewportSized:
    """set_window_size() sizes the page's viewport, whatever the browser
    keeps around it (headless Chromium's window is 143 px taller than its
    page, Firefox's has its toolbars): 1280x720 and 390x844 are what the
    page gets, in layout and in the saved screenshots. The window is asked
    again by what the page measured, not by outer - inner: Chromium keeps
    its window 500 px wide at least while the page may be narrower, so that
    difference is no border."""

    def set_window_size(self, width, height, windowHandle="current"):
        asked = [width, height]
        for _ in range(3):
            super().set_window_size(asked[0], asked[1], windowHandle)
            # The page learns of the resize asynchronously: on a busy machine
            # the first reading can still be the old size, and correcting by
            # it overshoots. Poll (deadline 3 s) until the page has the size
            # asked for, or its size has not changed for 500 ms.
            deadline = time.monotonic() + 3
            inner = self.execute_script("return [innerWidth, innerHeight]")
            since = time.monotonic()
            while inner != [width, height] and time.monotonic() < deadline \
                    and time.monotonic() - since < 0.5:
                time.sleep(0.05)
                again = self.execute_script("return [innerWidth, innerHeight]")
                if again != inner:
                    inner, since = again, time.monotonic()
            if inner == [width, height]:
                return
            asked = [asked[0] + width - inner[0], asked[1] + height - inner[1]]
        raise RuntimeError(f"the page is {inner[0]}x{inner[1]}, not {width}x{height}, after three tries")


class ChromiumDriver(ViewportSized, webdriver.Chrome):
    pass


class FirefoxDriver(ViewportSized, webdriver.Remote):
    """Selenium's remote driver on marionette.Firefox's WebDriver endpoint;
    quit() stops Firefox."""

    def __init__(self, firefox_process):
        self.firefox = firefox_process
        # Firefox runs here: a file input takes local paths as they are
        # (else Selenium would zip them to the remote end's /se/file).
        super().__init__(command_executor=firefox_process.url, options=webdriver.FirefoxOptions(),
                         file_detector=UselessFileDetector())

    def quit(self):
        # Not super().quit(): Marionette quits Firefox only within the session.
        try:
            self.firefox.quit()
        finally:
            self.command_executor.close()


def firefox(width, height):
    """Headless Firefox ESR (Debian's firefox-esr) through marionette.py."""
    binary = shutil.which("firefox-esr") or shutil.which("firefox")
    if not binary:
        print("skipped: firefox-esr is not installed (apt-get install firefox-esr)")
        sys.exit(SKIP)
    import marionette
    process = marionette.Firefox(width, height, binary)
    try:
        driver = FirefoxDriver(process)
    except BaseException:
        process.quit()
        raise
    driver.set_window_size(width, height)
    return driver


def wait(driver, condition, timeout=15, message=""):
    # Live pages (the adoption bar, the fleet list) redraw while a condition
    # reads them: an element found and then replaced is a reason to look
    # again, not a failure (seen in a fresh-clone CI run).
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)


def sign_in(driver, hub, name):
    driver.get(hub.url + "/console/")
    wait(driver, lambda d: d.find_elements(By.ID, "signin-name"), message="sign-in form")
    driver.find_element(By.ID, "signin-name").send_keys(name)
    driver.find_element(By.ID, "signin-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "signin-submit").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#devices tr"), timeout=30, message="fleet list after sign-in")


def jpeg(driver, text, colour):
    """A real JPEG made by the browser's canvas (no image library needed)."""
    data_url = driver.execute_script(
        """const c = document.createElement('canvas'); c.width = 640; c.height = 360;
           const g = c.getContext('2d'); g.fillStyle = arguments[1]; g.fillRect(0, 0, 640, 360);
           g.fillStyle = '#fff'; g.font = '48px sans-serif'; g.fillText(arguments[0], 40, 190);
           return c.toDataURL('image/jpeg', 0.9);""", text, colour)
    return base64.b64decode(data_url.split(",", 1)[1])


def console_errors(driver):
    """Severe messages in the browser's console (a CSP violation is one),
    as Chromium's log entries: {"level": "SEVERE", "message": …}. Firefox's
    come from its console service (marionette.py): script errors, promise
    rejections, CSP violations; it logs no failed fetch."""
    if isinstance(driver, FirefoxDriver):
        return [{"level": "SEVERE", "message": m} for m in driver.firefox.errors()]
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(driver, out_dir, name):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ".png")
    driver.execute_script("window.scrollTo(0, 0)")  # the page's top, as a person first sees it
    driver.save_screenshot(path)
    print("screenshot:", path)
    return path
