"""tests/console/marionette.py — headless Firefox for the console's browser
tests without geckodriver (Debian 12 packages firefox-esr but no geckodriver).

Job: start `firefox-esr --marionette --headless` on a fresh profile, speak
its Marionette protocol (`<length>:<json>` over TCP: `[0, id, command,
params]` out, `[1, id, error, result]` back) and serve the W3C WebDriver
HTTP routes the tests use on 127.0.0.1, each mapped onto the Marionette
command of the same meaning (what geckodriver does), so Selenium's own
`webdriver.Remote` drives Firefox and the same test code runs in both
browsers. Also reads the JavaScript errors Firefox logged (its console
service, in the browser's chrome context) since Firefox has no
`get_log("browser")`.
Invariants: one Marionette connection, one command in flight (a lock);
every wait has a deadline; Firefox is stopped and its profile removed by
quit() whatever happened; a route not mapped here answers `unknown
command` (a test using it fails saying so, it is not silently ignored).
"""
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

# Prefs for a quiet, deterministic test browser (Marionette adds its own
# recommended prefs). The locale matches the Chromium tests' --lang=en-GB.
PREFS = {
    "marionette.port": 0,  # any free port; Firefox writes it to MarionetteActivePort
    "intl.accept_languages": "en-GB",
    "intl.locale.requested": "en-GB",
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "devtools.console.stdout.content": True,  # page console lines in the log file too
    "toolkit.legacyUserProfileCustomizations.stylesheets": True,  # USER_CHROME below
}
# Firefox's window is at least ~500 px wide (its toolbars' min-width); the
# console's phone layout is tested at 390 px, as in Chromium.
USER_CHROME = ":root, #navigator-toolbox, #nav-bar, #TabsToolbar, #urlbar-container { min-width: 0 !important; }\n"

# W3C route -> (Marionette command, params from (path groups, body)).
# Element routes name the element `id`, as Marionette's params do.
_E = r"/session/[^/]+/element/(?P<id>[^/]+)"
ROUTES = [
    ("POST", r"/session/[^/]+/url", "WebDriver:Navigate", lambda g, b: {"url": b["url"]}),
    ("GET", r"/session/[^/]+/url", "WebDriver:GetCurrentURL", None),
    ("GET", r"/session/[^/]+/title", "WebDriver:GetTitle", None),
    ("GET", r"/session/[^/]+/source", "WebDriver:GetPageSource", None),
    ("POST", r"/session/[^/]+/refresh", "WebDriver:Refresh", None),
    ("POST", r"/session/[^/]+/back", "WebDriver:Back", None),
    ("POST", r"/session/[^/]+/execute/sync", "WebDriver:ExecuteScript", None),
    ("POST", r"/session/[^/]+/execute/async", "WebDriver:ExecuteAsyncScript", None),
    ("POST", r"/session/[^/]+/timeouts", "WebDriver:SetTimeouts", None),
    ("GET", r"/session/[^/]+/screenshot", "WebDriver:TakeScreenshot", lambda g, b: {"full": False}),
    ("GET", r"/session/[^/]+/window", "WebDriver:GetWindowHandle", None),
    ("GET", r"/session/[^/]+/window/handles", "WebDriver:GetWindowHandles", None),
    ("GET", r"/session/[^/]+/window/rect", "WebDriver:GetWindowRect", None),
    ("POST", r"/session/[^/]+/window/rect", "WebDriver:SetWindowRect", None),
    ("POST", r"/session/[^/]+/actions", "WebDriver:PerformActions", None),
    ("DELETE", r"/session/[^/]+/actions", "WebDriver:ReleaseActions", None),
    ("POST", r"/session/[^/]+/alert/accept", "WebDriver:AcceptAlert", None),
    ("POST", r"/session/[^/]+/alert/dismiss", "WebDriver:DismissAlert", None),
    ("GET", r"/session/[^/]+/alert/text", "WebDriver:GetAlertText", None),
    ("GET", r"/session/[^/]+/element/active", "WebDriver:GetActiveElement", None),
    ("POST", r"/session/[^/]+/element", "WebDriver:FindElement", None),
    ("POST", r"/session/[^/]+/elements", "WebDriver:FindElements", None),
    ("POST", _E + r"/element", "WebDriver:FindElement", lambda g, b: {**b, "element": g["id"]}),
    ("POST", _E + r"/elements", "WebDriver:FindElements", lambda g, b: {**b, "element": g["id"]}),
    ("POST", _E + r"/click", "WebDriver:ElementClick", lambda g, b: {"id": g["id"]}),
    ("POST", _E + r"/clear", "WebDriver:ElementClear", lambda g, b: {"id": g["id"]}),
    ("POST", _E + r"/value", "WebDriver:ElementSendKeys", lambda g, b: {"id": g["id"], "text": b["text"]}),
    ("GET", _E + r"/text", "WebDriver:GetElementText", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/name", "WebDriver:GetElementTagName", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/rect", "WebDriver:GetElementRect", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/selected", "WebDriver:IsElementSelected", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/enabled", "WebDriver:IsElementEnabled", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/displayed", "WebDriver:IsElementDisplayed", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/screenshot", "WebDriver:TakeScreenshot", lambda g, b: {"id": g["id"], "full": False}),
    ("GET", _E + r"/attribute/(?P<name>[^/]+)", "WebDriver:GetElementAttribute",
     lambda g, b: {"id": g["id"], "name": g["name"]}),
    ("GET", _E + r"/property/(?P<name>[^/]+)", "WebDriver:GetElementProperty",
     lambda g, b: {"id": g["id"], "name": g["name"]}),
    ("GET", _E + r"/css/(?P<name>[^/]+)", "WebDriver:GetElementCSSValue",
     lambda g, b: {"id": g["id"], "propertyName": g["name"]}),
    ("GET", _E + r"/computedrole", "WebDriver:GetComputedRole", lambda g, b: {"id": g["id"]}),
    ("GET", _E + r"/computedlabel", "WebDriver:GetComputedLabel", lambda g, b: {"id": g["id"]}),
]
ROUTES = [(m, re.compile(p + "$"), c, f) for m, p, c, f in ROUTES]

# Collects the errors Firefox logs for web content from start-up on (chrome
# context: the parent process's console service, which content processes
# report to): uncaught script errors and promise rejections, CSP
# violations. A listener, not the service's message array, which keeps only
# the last few hundred messages. Warnings are not errors; Firefox's own
# chrome/resource scripts are not the console's. console.error() calls stay
# in the content process's console API storage and are not seen (the
# console makes none).
LISTEN_SCRIPT = """
const own = s => !/^(chrome|resource|moz-extension|about|jar):/.test(s || "");
const errors = window.__stoaErrors = [];
Services.console.registerListener({observe(m) {
  if (m instanceof Ci.nsIScriptError && !(m.flags & (Ci.nsIScriptError.warningFlag | Ci.nsIScriptError.infoFlag))
      && !m.isFromChromeContext && own(m.sourceName))
    errors.push(`${m.category}: ${m.errorMessage} (${m.sourceName}:${m.lineNumber})`);
}});
"""
# What the listener collected since the last read (read once, as Chromium's
# get_log empties its buffer).
READ_SCRIPT = "return window.__stoaErrors.splice(0)"


class Marionette:
    """One Marionette connection: send() a command, get its result or an error."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.next_id = 0
        self.lock = threading.Lock()
        hello = self._read()
        if hello.get("marionetteProtocol") != 3:
            raise RuntimeError(f"Marionette: unexpected greeting {hello!r}")

    def _read(self):
        while b":" not in self.buf:
            self._fill()
        size, rest = self.buf.split(b":", 1)
        self.buf = rest
        while len(self.buf) < int(size):
            self._fill()
        message, self.buf = self.buf[:int(size)], self.buf[int(size):]
        return json.loads(message)

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("Marionette closed the connection")
        self.buf += chunk

    def send(self, command, params=None):
        """(error, result): error is Marionette's {error, message, stacktrace} or None."""
        with self.lock:
            self.next_id += 1
            data = json.dumps([0, self.next_id, command, params or {}]).encode()
            self.sock.sendall(str(len(data)).encode() + b":" + data)
            while True:
                kind, mid, error, result = self._read()
                if kind == 1 and mid == self.next_id:
                    return error, result

    def call(self, command, params=None):
        error, result = self.send(command, params)
        if error:
            raise RuntimeError(f"{command}: {error.get('error')}: {error.get('message')}")
        return result


class Firefox:
    """A headless Firefox behind a W3C WebDriver endpoint (self.url)."""

    def __init__(self, width, height, binary="firefox-esr", start_timeout=90):
        self.profile = tempfile.mkdtemp(prefix="stoa-firefox-")
        self.proc = None
        self.server = None
        try:
            self._start(width, height, binary, start_timeout)
        except BaseException:
            self.quit()
            raise

    def _start(self, width, height, binary, start_timeout):
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for k, v in PREFS.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        os.makedirs(os.path.join(self.profile, "chrome"))
        with open(os.path.join(self.profile, "chrome", "userChrome.css"), "w") as f:
            f.write(USER_CHROME)
        self.log_path = os.path.join(self.profile, "firefox.log")
        with open(self.log_path, "w") as log:
            # --remote-allow-system-access: the chrome context, for the console service (errors()).
            self.proc = subprocess.Popen(
                [binary, "--marionette", "--headless", "--remote-allow-system-access", "--no-remote",
                 "--profile", self.profile, f"--window-size={width},{height}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1", "LANG": "en_GB.UTF-8"})
        port_file = os.path.join(self.profile, "MarionetteActivePort")
        deadline = time.monotonic() + start_timeout
        port = None
        # Firefox writes the port once Marionette listens; nothing to wait on but the file.
        while port is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"firefox exited ({self.proc.returncode}) before Marionette listened: {self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Marionette did not listen within {start_timeout} s: {self.log()}")
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                port = int(text) if text else None
            except FileNotFoundError:
                pass
            if port is None:
                time.sleep(0.05)  # a poll of the file with the deadline above
        self.m = Marionette(port, start_timeout)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def chrome(self, script):
        """A script in the browser's chrome context (Firefox's own window)."""
        self.m.call("Marionette:SetContext", {"value": "chrome"})
        try:
            return self.m.call("WebDriver:ExecuteScript", {"script": script, "args": []})["value"]
        finally:
            self.m.call("Marionette:SetContext", {"value": "content"})

    def errors(self):
        """Errors Firefox logged for the pages since the last call."""
        return self.chrome(READ_SCRIPT)

    def quit(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.proc and self.proc.poll() is None:
            # Marionette:Quit needs the session still open (after
            # WebDriver:DeleteSession it waits for nothing): else a signal.
            try:
                error, _ = self.m.send("Marionette:Quit", {"flags": ["eForceQuit"]})
            except (OSError, AttributeError, ValueError) as e:
                error = e
            if error:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def dispatch(self, method, path, body):
        """(HTTP status, W3C JSON body) for one WebDriver request."""
        if method == "POST" and path == "/session":
            # Marionette takes the capabilities flat (geckodriver merges
            # alwaysMatch with the first firstMatch); the browser's name and
            # moz:firefoxOptions are what we launched, not Marionette's.
            caps = dict((body.get("capabilities") or {}).get("alwaysMatch") or {})
            caps.update(((body.get("capabilities") or {}).get("firstMatch") or [{}])[0])
            caps = {k: v for k, v in caps.items() if k in ("pageLoadStrategy", "timeouts", "unhandledPromptBehavior",
                                                        "strictFileInteractability", "acceptInsecureCerts")}
            error, result = self.m.send("WebDriver:NewSession", caps)
            if not error:
                self.chrome(LISTEN_SCRIPT)  # before the first page: its errors count too
        elif method == "DELETE" and re.fullmatch(r"/session/[^/]+", path):
            error, result = self.m.send("WebDriver:DeleteSession")
        else:
            for m, pattern, command, params in ROUTES:
                match = pattern.match(path)
                if m == method and match:
                    error, result = self.m.send(command, params(match.groupdict(), body) if params else body)
                    break
            else:
                return 404, {"value": {"error": "unknown command", "message": f"{method} {path} is not mapped "
                                       "to Marionette in tests/console/marionette.py", "stacktrace": ""}}
        if error:
            status = 404 if error.get("error") in ("no such element", "no such window", "stale element reference",
                                                   "unknown command") else 500
            return status, {"value": error}
        # Most answers already are {"value": …}; some (a new session, a
        # window rect) are the bare value.
        if isinstance(result, dict) and set(result) == {"value"}:
            return 200, result
        return 200, {"value": result}

    def _handler(self):
        firefox = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}") if n else {}
                try:
                    status, answer = firefox.dispatch(self.command, self.path.rstrip("/") or "/", body)
                except (OSError, RuntimeError, KeyError, ValueError) as e:
                    status, answer = 500, {"value": {"error": "unknown error", "message": repr(e), "stacktrace": ""}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

        return Handler
