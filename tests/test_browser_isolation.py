"""No test starts a Chromium that can reach beyond 127.0.0.1.

Every browser test goes through `tests.support.browser`; these tests fail if the helper loses a
required flag, if a test builds its own ChromeOptions or webdriver, or (where Chromium is
installed) if the started browser's own command line lacks a flag.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from pathlib import Path

import pytest

from tests.support import browser

TESTS = Path(__file__).resolve().parent
# The rules' list, written out again on purpose: a flag dropped from the helper fails here.
RULES_FLAGS = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync"}
_OWN_BROWSER = re.compile(r"ChromeOptions\s*\(|webdriver\s*\.\s*(Chrome|Firefox|Edge|Safari|"
                          r"Remote)\s*\(|\bChromiumDriver\s*\(|chrome\.service\s+import|"
                          r"webdriver\.chrome\.service")


def test_the_helper_has_every_required_flag():
    assert RULES_FLAGS <= set(browser.REQUIRED_FLAGS)
    assert browser.SELENIUM_ENV == {"SE_AVOID_STATS": "true"}
    assert "--proxy-server=http://127.0.0.1:9" in browser.ISOLATION_FLAGS


@pytest.mark.skipif(browser.skip_reason() is not None, reason=browser.skip_reason() or "")
def test_options_keep_the_flags_whatever_a_test_adds(monkeypatch):
    monkeypatch.delenv("SE_AVOID_STATS", raising=False)
    options = browser.chromium_options("--window-size=800,600")
    assert RULES_FLAGS <= set(options.arguments)
    assert "--window-size=800,600" in options.arguments
    assert options.binary_location == browser.chromium_path()
    assert os.environ["SE_AVOID_STATS"] == "true"


def test_no_test_starts_a_browser_of_its_own():
    helper = TESTS / "support" / "browser.py"
    offenders = [str(p.relative_to(TESTS)) for p in sorted(TESTS.rglob("*.py"))
                 if p not in (helper, Path(__file__).resolve())
                 and _OWN_BROWSER.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], (f"{offenders} start a browser directly; use "
                             f"tests.support.browser.start_chromium(...) instead")


@pytest.mark.skipif(browser.skip_reason() is not None, reason=browser.skip_reason() or "")
def test_the_started_chromium_runs_with_the_flags_and_reaches_loopback():
    """Chromium's own record of its command line (chrome://version) holds every flag, a page
    on 127.0.0.1 loads, and a host beyond it is refused at the closed proxy."""
    from selenium.webdriver.common.by import By

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = b"<html><body><p id='x'>loopback ok</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = browser.start_chromium(page_load_timeout=15)
    try:
        driver.get("chrome://version")
        command_line = driver.find_element(By.ID, "command_line").text
        for flag in (*RULES_FLAGS, "--proxy-server=http://127.0.0.1:9"):
            assert flag in command_line, (flag, command_line)
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
        assert driver.find_element(By.ID, "x").text == "loopback ok"
        from selenium.common.exceptions import WebDriverException

        with pytest.raises(WebDriverException, match="ERR_PROXY_CONNECTION_FAILED"):
            driver.get("http://example.com/")  # neither resolved nor reached: refused on loopback
    finally:
        driver.quit()
        server.shutdown()
