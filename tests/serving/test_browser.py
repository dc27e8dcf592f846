"""The page in headless Chromium: type, upload, record, see results; a bad file shows an error.

Chromium is started by `tests.support.browser` (no connection beyond 127.0.0.1); it skips saying
what is missing when the browser, its driver or selenium is not installed (browser downloads are
impossible in CI).
"""

from __future__ import annotations

import os

import pytest

from tests.support import browser as chromium

pytestmark = pytest.mark.skipif(chromium.skip_reason() is not None,
                                reason=chromium.skip_reason() or "")


@pytest.fixture(scope="module")
def app(model_repo):
    from serving.app.server import BackgroundServer
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient

    backend = InProcessBackend(str(model_repo))
    backend.warm_up()
    with BackgroundServer(EmotionClient(backend)) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    # A fake microphone (a beep) that needs no permission prompt: lets the test exercise
    # MediaRecorder -> 16 kHz WAV conversion in the page.
    driver = chromium.start_chromium("--window-size=1200,900", "--use-fake-ui-for-media-stream",
                                     "--use-fake-device-for-media-stream")
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _open(browser, app):
    from selenium.webdriver.common.by import By

    browser.get(app.url + "/")
    _wait(browser, lambda d: "Models:" in d.find_element(By.ID, "status").text)


def _rows(browser, task: str) -> list:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, f"#result-{task} .row")


def _submit_and_wait(browser) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "submit").click()
    _wait(browser, lambda d: d.find_element(By.ID, "submit").is_enabled()
          and (_rows(d, "ter") or _rows(d, "ser") or d.find_element(By.ID, "error").is_displayed()))


def test_text_and_wav_upload_show_three_results(browser, app, tmp_path, make_wav):
    from selenium.webdriver.common.by import By

    wav = tmp_path / "loud.wav"
    wav.write_bytes(make_wav(seconds=1.0, amplitude=0.9, rate=48000, channels=2))
    _open(browser, app)
    assert "TER v2" in browser.find_element(By.ID, "status").text
    browser.find_element(By.ID, "text").send_keys("What a wonderful day, I am so happy")
    browser.find_element(By.ID, "audio-file").send_keys(str(wav))
    _submit_and_wait(browser)
    assert not browser.find_element(By.ID, "error").is_displayed()
    ter, ser, mer = (_rows(browser, t) for t in ("ter", "ser", "mer"))
    assert len(ter) == len(ser) == len(mer) == 3
    assert ter[0].get_attribute("data-emotion") == "happy"
    assert "😊" in ter[0].text and "%" in ter[0].text
    assert ser[0].get_attribute("data-emotion") == "angry"
    assert "😊" in browser.find_element(By.CSS_SELECTOR, "#result-ter .top").text


def test_bad_file_shows_the_servers_reason(browser, app, tmp_path):
    from selenium.webdriver.common.by import By

    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"this is not audio, only text named .wav")
    _open(browser, app)
    browser.find_element(By.ID, "audio-file").send_keys(str(bad))
    _submit_and_wait(browser)
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    assert "could not decode the audio" in error.text
    assert not _rows(browser, "ser")


def test_typed_markup_is_shown_as_text(browser, app):
    from selenium.webdriver.common.by import By

    attack = '<img src=x onerror="window.__xss=1"><b>bold</b> I hate this'
    _open(browser, app)
    browser.find_element(By.ID, "text").send_keys(attack)
    _submit_and_wait(browser)
    transcript = browser.find_element(By.ID, "transcript")
    assert attack in transcript.text
    assert browser.find_elements(By.CSS_SELECTOR, "#transcript *") == []
    assert browser.execute_script("return window.__xss === undefined")
    assert _rows(browser, "ter")[0].get_attribute("data-emotion") == "angry"


@pytest.mark.skipif(os.environ.get("MER_SKIP_RECORDING_TEST") == "1",
                    reason="MER_SKIP_RECORDING_TEST=1")
def test_recording_is_converted_to_wav_and_predicted(browser, app):
    from selenium.webdriver.common.by import By

    _open(browser, app)
    browser.find_element(By.ID, "record").click()
    _wait(browser, lambda d: "Recording" in d.find_element(By.ID, "record-status").text)
    import time

    time.sleep(1.2)
    browser.find_element(By.ID, "record").click()
    _wait(browser, lambda d: "Recorded" in d.find_element(By.ID, "record-status").text
          or d.find_element(By.ID, "error").is_displayed())
    assert not browser.find_element(By.ID, "error").is_displayed(), \
        browser.find_element(By.ID, "error").text
    assert "16 kHz WAV" in browser.find_element(By.ID, "record-status").text
    _submit_and_wait(browser)
    assert not browser.find_element(By.ID, "error").is_displayed(), \
        browser.find_element(By.ID, "error").text
    assert len(_rows(browser, "ser")) == 3


def test_timeline_chart_of_a_two_minute_recording(browser, app, tmp_path):
    from selenium.webdriver.common.by import By

    from tests.serving.test_timeline import recording

    path = recording(tmp_path / "call.flac")  # loud 20 s, quiet 20 s, silent 20 s, twice
    _open(browser, app)
    asr = browser.find_element(By.ID, "asr")
    if asr.is_selected():  # SER only: transcribing 40 segments is not what this test checks
        asr.click()
    browser.find_element(By.ID, "audio-file").send_keys(path)
    browser.find_element(By.ID, "timeline-button").click()
    _wait(browser, lambda d: d.find_element(By.ID, "timeline").is_displayed()
          or d.find_element(By.ID, "error").is_displayed(), timeout=60)
    assert not browser.find_element(By.ID, "error").is_displayed(), \
        browser.find_element(By.ID, "error").text
    bars = browser.find_elements(By.CSS_SELECTOR, "#timeline-chart .seg")
    assert len(bars) == 28  # 40 windows of 3 s, 12 of them silent
    assert bars[0].get_attribute("data-emotion") == "angry"
    assert {b.get_attribute("data-emotion") for b in bars} == {"angry", "sad"}
    legend = [li.get_attribute("data-emotion")
              for li in browser.find_elements(By.CSS_SELECTOR, "#timeline-share li")]
    assert sorted(legend) == ["angry", "sad"]
    assert "12 silent windows skipped" in browser.find_element(By.ID, "timeline-info").text
    assert "2:00 recording" in browser.find_element(By.ID, "timeline-info").text
