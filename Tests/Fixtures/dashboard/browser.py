#!/usr/bin/env python3
"""The dashboard in a real browser (Debian's chromium, headless, through selenium), called by
DashboardTests.swift against a running `apphost up` (native engine) of this project:

  "cache": redis with a password, "api": a python program with 2 replicas printing `tick N`.

usage: browser.py LOGIN_URL PROJECT_DIR APPHOST_BINARY SCREENSHOT_DIR PASSWORD

Exits 0 when every check passed; prints each check as it goes, and why the first failing one failed.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

login, project, apphost, shots, password = sys.argv[1:6]
base = login.split("?")[0].rstrip("/")
token = urllib.parse.parse_qs(urllib.parse.urlparse(login).query)["token"][0]
os.makedirs(shots, exist_ok=True)


def click(selector, attempts=20):
    """Finds and clicks an element, again when the page re-rendered it in between (a live update)."""
    for attempt in range(attempts):
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
            return
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


def text(selector):
    """The text of the first element matching selector (None when there is none), read in one step in the
    page: a live re-render between finding an element and reading it cannot make the read stale."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null", selector)


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def status(path, method="GET", headers=None, body=None):
    request = urllib.request.Request(base + path, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            # An event stream never ends: its status is enough.
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def wait(what, predicate, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as error:  # the page may be re-rendering
            last = error
        time.sleep(0.2)
    check(False, f"{what} (within {timeout} s; last: {last!r})")


# 1. Without the token (or with a wrong one), every address is refused; actions need their header.
no_redirect = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,), {
    "redirect_request": lambda *args: None})())
urllib.request.install_opener(no_redirect)
action = json.dumps({"command": "restart", "names": ["api-0"]}).encode()
reveal = json.dumps({"name": "api-0", "key": "CACHE_PASSWORD"}).encode()
for path, method, body in [("/", "GET", None), ("/api/events", "GET", None), ("/api/resources", "GET", None),
                           ("/api/env?name=api-0", "GET", None), ("/api/action", "POST", action),
                           ("/api/reveal", "POST", reveal), ("/nothing-here", "GET", None)]:
    for headers in [{}, {"Cookie": "apphost_dashboard=" + "0" * 64}, {"X-Apphost-Action": "1"}]:
        code, response_headers = status(path, method, headers, body)
        check(code == 401, f"{method} {path} with {headers or 'nothing'} is refused (got {code})")
        check(not any(k.lower().startswith("access-control") for k in response_headers), f"no CORS headers on {path}")
    code, _ = status(path + ("&" if "?" in path else "?") + "token=" + "f" * 64, method, {}, body)
    check(code == 401, f"{method} {path} with a wrong ?token= is refused (got {code})")
cookie = {"Cookie": "apphost_dashboard=" + token}
code, _ = status("/api/action", "POST", dict(cookie, **{"Content-Type": "application/json"}), action)
check(code == 403, f"POST /api/action with the cookie but without X-Apphost-Action is refused (got {code})")
code, _ = status("/api/reveal", "POST", dict(cookie), reveal)
check(code == 403, f"POST /api/reveal without X-Apphost-Action is refused (got {code})")
code, _ = status("/api/action", "GET", dict(cookie, **{"X-Apphost-Action": "1"}))
check(code == 403, f"GET /api/action is refused (got {code})")
code, headers = status("/api/resources", "GET", dict(cookie))
check(code == 200 and not any(k.lower().startswith("access-control") for k in headers), "the cookie opens the API")
code, headers = status("/?token=" + token)
check(code == 303 and "HttpOnly" in headers.get("Set-Cookie", "") and "SameSite=Strict" in headers.get("Set-Cookie", ""),
      f"?token= sets an HttpOnly, SameSite=Strict cookie and sends the browser on (got {code} {headers})")

# 2. The page in chromium.
options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,800"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.set_window_size(1366, 800)
    driver.get(login)
    check("token=" not in driver.current_url, f"the token leaves the address bar ({driver.current_url})")
    cards = wait("the page lists the resources", lambda: sorted(
        e.get_attribute("data-resource") for e in driver.find_elements(By.CSS_SELECTOR, "[data-resource]")) or None)
    check(cards == ["api", "cache"], f"cards for every resource: {cards}")
    wait("both replicas are listed", lambda: len(driver.find_elements(By.CSS_SELECTOR, "[data-process]")) == 2)
    wait("the connection shows live", lambda: "live" in driver.find_element(By.ID, "live").text)

    # Logs stream in: new `tick` lines arrive while the page is open.
    def ticks():
        return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log .l") if "tick" in e.text]
    first = wait("program output appears", lambda: len(ticks()) or None)
    wait("more output streams in", lambda: len(ticks()) > first + 2, timeout=60)
    check(any("Ready to accept connections" in e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log .l")),
          "the cache's output is in the log too")

    # The cache's INFO facts and chart.
    wait("INFO facts of the cache", lambda: driver.find_elements(By.CSS_SELECTOR, "[data-stats=cache] .keys"))
    wait("a chart of ops/s", lambda: driver.find_elements(By.CSS_SELECTOR, "[data-stats=cache] polyline"), timeout=60)

    # Search: only matching lines, the match marked.
    search = driver.find_element(By.ID, "search")
    search.send_keys("api started")
    shown = wait("search filters the lines", lambda: [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log .l")] or None)
    check(all("api started" in line for line in shown), f"only lines with the search text: {shown[:3]}")
    check(driver.find_elements(By.CSS_SELECTOR, "#log mark"), "the match is marked")
    search.clear()
    search.send_keys(" ")
    search.clear()
    driver.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")

    # Restart one replica from its button: its pid changes (on the page and in `apphost ps`).
    def pid_on_page(name):
        shown = (text(f'[data-process="{name}"] .pid') or "").strip()
        return int(shown) if shown.isdigit() else None

    def pid_in_ps(name):
        rows = json.loads(subprocess.run([apphost, "ps", "--json"], cwd=project, capture_output=True, text=True,
                                         env=dict(os.environ, NO_COLOR="1")).stdout or "[]")
        return next((row.get("pid") for row in rows if row.get("name") == name), None)

    before = wait("api-0 has a pid", lambda: pid_on_page("api-0"))
    other = pid_on_page("api-1")
    check(pid_in_ps("api-0") == before, f"the page's pid of api-0 is the one ps shows ({before})")
    click('[data-process="api-0"] button[data-action="restart"]')
    after = wait("api-0 restarted with another pid", lambda: (pid_on_page("api-0") or before) != before and pid_on_page("api-0"))
    check(pid_in_ps("api-0") == after, f"ps agrees: api-0 now runs as {after}")
    check(pid_on_page("api-1") == other, "api-1 was not restarted")
    wait("the restart is in the activity list", lambda: "api-0" in (text("#events") or ""))

    # Secrets: masked until a reveal.
    check(password not in driver.page_source, "no password on the page before anything is revealed")
    click('[data-resource="api"] button[data-env]')
    row = wait("the environment opens", lambda: driver.find_element(By.CSS_SELECTOR, 'tr[data-var="CACHE_PASSWORD"]'))
    check(password not in driver.page_source, "the environment shows the password masked")
    check("CACHE_HOST" in (text("#envrows") or ""), "plain variables are shown")
    driver.save_screenshot(os.path.join(shots, "environment-laptop-light.png"))
    row.find_element(By.CSS_SELECTOR, "button[data-reveal]").click()
    wait("the revealed password appears", lambda: password in row.find_element(By.CSS_SELECTOR, ".v").text)
    uri = text('tr[data-var="CACHE_URI"] .v') or ""
    check(password not in uri, "revealing one variable reveals that one only")
    driver.find_element(By.ID, "envclose").click()

    # Screenshots: laptop and narrow, light and dark.
    time.sleep(2.5)
    for scheme in ["light", "dark"]:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        for label, width, height in [("laptop", 1366, 800), ("narrow", 400, 860)]:
            driver.set_window_size(width, height)
            time.sleep(0.6)
            overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            check(overflow <= 0, f"{label} {scheme}: nothing wider than the window (overflow {overflow} px)")
            driver.save_screenshot(os.path.join(shots, f"dashboard-{label}-{scheme}.png"))
    print("screenshots in " + shots, flush=True)
finally:
    driver.quit()
print("all checks passed", flush=True)
