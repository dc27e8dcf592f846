"""Headless Chromium for the tests, started so that it opens no connection beyond 127.0.0.1.

A plain `webdriver.Chrome()` reaches out on its own: Chromium fetches component updates, field
trials, sync and safe-browsing data at start, QUIC probes, and Selenium Manager both downloads
drivers and posts usage statistics. On a closed network (CI) those are refused connections in
every run; on an open one they are traffic a test has no business making. So every browser test
starts Chromium here and nowhere else (`tests/test_browser_isolation.py` fails on a test that
builds its own): the required flags below, a proxy on a closed loopback port for anything that
is not loopback (so a request that slips past the flags fails here instead of leaving the
machine), the driver given by path (Selenium Manager is never asked to find one) and
`SE_AVOID_STATS=true`.

Needs the Debian packages `chromium` and `chromium-driver` and the `selenium` package;
`skip_reason()` says which is missing, for a test to skip with.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

# What the house rules require of every Chromium a test starts.
REQUIRED_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
# More of the same: no pings, no default apps, no services that phone home at start, and a
# proxy that answers nothing for every host that is not loopback (Chromium never proxies
# loopback, so the tests' own servers on 127.0.0.1 are reached directly).
ISOLATION_FLAGS = ("--no-default-browser-check", "--disable-default-apps",
                   "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                   "--no-pings", "--metrics-recording-only",
                   "--disable-features=MediaRouter,OptimizationHints,Translate,"
                   "AutofillServerCommunication,InterestFeedContentSuggestions",
                   "--proxy-server=http://127.0.0.1:9", "--disable-dev-shm-usage")
# Selenium's own: no usage statistics posted (Selenium Manager reads it from the environment).
SELENIUM_ENV = {"SE_AVOID_STATS": "true"}


def chromium_path() -> Optional[str]:
    return next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)


def driver_path() -> Optional[str]:
    return shutil.which("chromedriver")


def skip_reason() -> Optional[str]:
    """Why a browser test cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    if not chromium_path() or not driver_path():
        return ("headless Chromium is not installed: apt-get install -y chromium "
                "chromium-driver (needs both the browser and chromedriver on PATH)")
    return None


def chromium_options(*extra: str):
    """ChromeOptions with the required and isolation flags, then `extra` (window size, a fake
    microphone...); an `extra` flag may add behaviour but never drop a required one."""
    from selenium import webdriver

    os.environ.update(SELENIUM_ENV)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path()
    for arg in (*REQUIRED_FLAGS, *ISOLATION_FLAGS, *extra):
        options.add_argument(arg)
    return options


def start_chromium(*extra: str, page_load_timeout: float = 30):
    """A started headless Chromium (quit it when done), with the driver given by path."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = chromium_options(*extra)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path()), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    return driver
