#!/usr/bin/python3
"""Drives bdcoordd's status page in headless Chromium (Debian's chromium and chromedriver, with
Selenium) while a cluster comes up, the way an operator would watch it.

Usage: status_page_browser.py URL EXPECTED OUT_DIR [TIMEOUT_SECONDS]

Opens URL, says so by creating OUT_DIR/page.started, then reads the instances table every 250 ms
without reloading until EXPECTED instances are listed and every one is ready (or completed).
Checks that the states changed while the page stayed the same document, clicks an instance for
its logs, and writes OUT_DIR/rows.json (name, host, ip, state, ready) and the screenshot
OUT_DIR/status-page.png. Exit status 1 with the reason when something is not so.
"""
import json
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROWS = """return Array.from(document.querySelectorAll('#instances tbody tr')).map(tr => ({
  name: tr.dataset.instance, host: tr.querySelector('.host').textContent,
  ip: tr.querySelector('.ip').textContent, state: tr.querySelector('.state').textContent,
  ready: tr.querySelector('.ready').textContent}));"""


def fail(message):
    print(f"FAIL: status page: {message}", file=sys.stderr)
    sys.exit(1)


def wait_for(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    fail(f"{what} (after {timeout} s)")


def main():
    url, expected, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 300
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-", dir=out)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url)
        wait_for("the page never drew the coordinator's data",
                 lambda: driver.execute_script("return window.bdcoordPage && window.bdcoordPage.polls"), 30)
        loaded_at = driver.execute_script("window.bdcoordTestMarker = 42; return window.bdcoordPage.loadedAt")
        open(os.path.join(out, "page.started"), "w").close()

        seen = {}  # name -> the (state, ready) pairs seen in order
        def snapshot():
            rows = driver.execute_script(ROWS)
            for row in rows:
                pairs = seen.setdefault(row["name"], [])
                if not pairs or pairs[-1] != (row["state"], row["ready"]):
                    pairs.append((row["state"], row["ready"]))
            done = [r for r in rows if r["ready"] in ("yes", "-")]
            return rows if len(rows) == expected and len(done) == expected else None
        rows = wait_for(f"{expected} instances, all ready, never showed", snapshot, timeout)

        if driver.execute_script("return window.bdcoordTestMarker") != 42 or \
                driver.execute_script("return window.bdcoordPage.loadedAt") != loaded_at:
            fail("the page was reloaded")
        changed = sorted(name for name, pairs in seen.items() if len(pairs) > 1)
        if not changed:
            fail(f"no instance changed state on the page: {seen}")
        polls = driver.execute_script("return window.bdcoordPage.polls")
        print(f"ok: the status page listed {len(rows)} instances with their hosts and IPs, all ready; "
              f"{len(changed)} changed state in place ({polls} polls, no reload)")

        # One click from an instance to its recent logs.
        target = sorted(rows, key=lambda r: r["name"])[0]["name"]
        driver.find_element(By.CSS_SELECTOR, f'#instances tr[data-instance="{target}"]').click()
        def logs():
            text = driver.find_element(By.ID, "logs-lines").text
            return text if text and text != "loading…" else None
        text = wait_for(f"the logs of {target} never showed", logs, 20)
        if text.startswith("cannot read the logs"):
            fail(f"logs of {target}: {text}")
        print(f"ok: a click on {target} shows its logs ({len(text.splitlines())} lines)")

        driver.execute_script("window.scrollTo(0, 0)")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(max(height, 800), 4000))
        driver.save_screenshot(os.path.join(out, "status-page.png"))
        with open(os.path.join(out, "rows.json"), "w") as f:
            json.dump(rows, f)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
