#!/usr/bin/python3
"""The web console in a real browser: headless Chromium through Selenium.

Starts the real pitstopd on the sample CARs with metrics_listen, opens the
console in Chromium (Debian's chromium and chromium-driver) with German as
the browser's language, and checks what an operator would: the drivers page
lists every sample driver with its state; a kill -9 of a driver shows its
restart without a reload; a driver's page shows its property labels from
the German bundle and a chart. Keeps a screenshot of each page in
--artifacts. Exits non-zero on the first failure.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def start_daemon(args, work):
    config = os.path.join(work, "pitstopd.yaml")
    with open(config, "w") as f:
        f.write("metrics_listen: 127.0.0.1:0\n")
    sandbox = []
    if subprocess.run([args.pitstopd, "--check-sandbox"],
                      stdout=subprocess.DEVNULL).returncode != 0:
        sandbox = ["--sandbox", "best-effort"]
    log_path = os.path.join(work, "pitstopd.log")
    daemon = subprocess.Popen(
        [args.pitstopd, "--config", config, "--listen",
         "unix:" + os.path.join(work, "pitstopd.sock"), "--state-dir",
         os.path.join(work, "state"), "--drivers-dir", args.cars_dir]
        + sandbox, stderr=open(log_path, "w"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(log_path) as f:
            m = re.search(r"metrics_address=(\S+)", f.read())
        if m:
            return daemon, m.group(1), log_path
        if daemon.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError("pitstopd did not say where it serves metrics")


def cli(args, work, *argv):
    out = subprocess.run(
        [args.pitstop, "--address",
         "unix:" + os.path.join(work, "pitstopd.sock")] + list(argv),
        capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("pitstop %s: %s" % (" ".join(argv), out.stderr))
    return out.stdout


def browser(language):
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--lang=" + language):
        options.add_argument(flag)
    options.add_experimental_option("prefs",
                                    {"intl.accept_languages": language})
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=options)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pitstopd", required=True)
    parser.add_argument("--pitstop", required=True)
    parser.add_argument("--cars-dir", required=True)
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()
    from selenium.common.exceptions import StaleElementReferenceException
    os.makedirs(args.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="pitstop-console-")
    daemon = None
    driver = None
    failures = passes = 0

    def check(name, condition, detail=""):
        nonlocal failures, passes
        print("%s: %s %s" % ("ok" if condition else "FAILED", name, detail))
        failures += 0 if condition else 1
        passes += 1 if condition else 0
        if not condition:
            raise AssertionError(name)

    try:
        daemon, address, log_path = start_daemon(args, work)
        expected = sorted(d["name"] for d in json.loads(
            cli(args, work, "drivers", "-o", "json")))
        driver = browser("de")
        wait = WebDriverWait(
            driver, 30, poll_frequency=0.1,
            ignored_exceptions=[StaleElementReferenceException])
        driver.get("http://%s/" % address)

        # The page redraws itself every 2 s: read it in one script, not
        # through element references that a redraw makes stale.
        def rows():
            return driver.execute_script(
                "return Array.from(document.querySelectorAll("
                "'#drivers tbody tr')).map(r => [r.dataset.driver, "
                "r.querySelector('td.state').dataset.state, "
                "r.querySelector('td.restarts').textContent])")

        def states():
            return {name: state for name, state, _ in rows()}

        wait.until(lambda _: sorted(states()) == expected and
                   all(s == "READY" for s in states().values()))
        check("the drivers page lists every sample driver READY",
              sorted(states()) == expected, str(states()))
        driver.save_screenshot(os.path.join(args.artifacts,
                                            "console-drivers.png"))

        # A crash, seen without a reload: the page keeps a marker.
        driver.execute_script("window.pitstopMarker = 42;")
        before = json.loads(cli(args, work, "describe", "flashpool", "-o",
                                "json"))
        os.kill(int(before["pid"]), signal.SIGKILL)

        def restarted(_):
            return ["flashpool", "READY", "1"] in rows()
        wait.until(restarted)
        check("a kill -9 shows as a restart and READY again",
              restarted(None))
        check("without a reload",
              driver.execute_script("return window.pitstopMarker") == 42)
        events = driver.execute_script(
            "return document.getElementById('events').textContent")
        check("the crash is in the live events", "flashpool" in events,
              events[:300])

        # Calls, for the driver page's chart.
        for i in range(5):
            cli(args, work, "call", "flashpool", "CreateVolume", "--resource",
                "volume/console-%d" % i, "--prop", "management_vip=10.0.0.5",
                "--prop", "storage_vip=10.0.1.5", "--prop",
                "admin_username=admin", "--prop", "admin_password=secret",
                "--json", '{"size_bytes": 1073741824, "min_iops": 100}')

        # The driver's page, in the browser's language.
        def click_link(d):
            d.find_element(By.LINK_TEXT, "flashpool").click()
            return True
        wait.until(click_link)
        label_script = ("const td = document.querySelector('#properties "
                        "tr[data-key=admin_username] td.label'); "
                        "return td ? td.textContent : null")
        wait.until(lambda d: d.execute_script(label_script))
        label = driver.execute_script(label_script)
        german = json.loads(cli(args, work, "describe", "flashpool",
                                "--locale", "de", "-o", "json"))
        want = [p["label"] for p in german["properties"]
                if p["key"] == "admin_username"][0]
        english = [p["label"] for p in before["properties"]
                   if p["key"] == "admin_username"][0]
        check("the schema's labels come from the German bundle",
              label == want and want != english,
              "%r (de %r, default %r)" % (label, want, english))
        points = ("const c = document.getElementById('rate-chart'); "
                  "const chart = c && typeof Chart !== 'undefined' && "
                  "Chart.getChart(c); if (!chart) return 0; "
                  "return chart.data.datasets.reduce((n, d) => n + "
                  "d.data.filter(p => p.y > 0).length, 0)")
        wait.until(lambda d: d.execute_script(points) > 0)
        check("the driver's page charts the calls made",
              driver.execute_script(points) > 0)
        driver.save_screenshot(os.path.join(args.artifacts,
                                            "console-driver.png"))
        logs = driver.get_log("browser")
        errors = [l for l in logs if l.get("level") == "SEVERE"]
        check("the browser logged no error", not errors, str(errors)[:500])
    except Exception as e:  # noqa: BLE001 - reported below
        failures += 1
        print("FAILED: %s: %s" % (type(e).__name__, e))
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(args.artifacts,
                                                    "console-failure.png"))
                print(driver.page_source[:3000])
            except Exception:  # noqa: BLE001
                pass
    finally:
        if driver is not None:
            driver.quit()
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        if failures:
            with open(os.path.join(work, "pitstopd.log")) as f:
                print(f.read()[-5000:])
        shutil.rmtree(work, ignore_errors=True)
    print("console checks: %d ok, %d failed" % (passes, failures))
    return 1 if failures or not passes else 0


if __name__ == "__main__":
    sys.exit(main())
