"""What `mer run` shows a user: a short terminal, a log file with the rest, a report page that
opens in a browser, and the run in `mer runs list`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import cli
from tests.pipeline.conftest import log_path

SHOWN = ["EmotionExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator",
         "DataGate", "Transform"] + [f"{kind} +{task}" for task in ("ter", "ser", "mer")
                                      for kind in ("Trainer", "Baselines", "Evaluator",
                                                   "Gate", "Pusher")] + ["BulkInferrer +ser"]


def _report_path(stdout: str) -> Path:
    [line] = [x for x in stdout.splitlines() if x.startswith("report: ")]
    return Path(line.split(": ", 1)[1])


def test_the_terminal_gets_one_line_per_component_and_the_summary(demo_cli_run):
    out = demo_cli_run.stdout
    lines = out.splitlines()
    assert len(lines) <= 60, out
    assert lines[0].startswith("mer run: mer-demo") and "log: " in lines[0]
    for name in SHOWN:
        hits = [x for x in lines if re.search(rf"\d+/{len(SHOWN)} {name}\s", x)]
        assert len(hits) == 1, (name, out)
        assert re.search(r"\b(ran|cached)\s+\d+\.\d s$", hits[0]), hits[0]
    assert "== run summary ==" in out and "ingest:" in out and "report: " in out
    assert "prediction (mer v" in out
    for noise in ("Epoch 1/", "WARNING", "tensorflow/core", "absl", "Model: "):
        assert noise not in out, noise


def test_tensorflow_beam_and_keras_output_goes_to_the_log(demo_cli_run):
    log = log_path(demo_cli_run.stdout).read_text()
    assert "Epoch 1/" in log  # Keras' fit output
    assert "absl" in log or "apache_beam" in log
    assert "gate: " in log  # the components' own prints


def test_report_opens_in_headless_chromium_with_the_confusion_matrices(demo_cli_run):
    from tests.support import browser as chromium

    if chromium.skip_reason():
        pytest.skip(chromium.skip_reason())
    from selenium.webdriver.common.by import By

    browser = chromium.start_chromium()
    try:
        browser.get(_report_path(demo_cli_run.stdout).as_uri())
        figures = browser.find_elements(By.CSS_SELECTOR, "figure.confusion img")
        assert len(figures) == 3
        for img in figures:  # decoded images, not broken links
            assert browser.execute_script("return arguments[0].naturalWidth", img) > 100
        alts = sorted(img.get_attribute("alt") for img in figures)
        assert alts == ["confusion matrix mer", "confusion matrix ser", "confusion matrix ter"]
        assert len(browser.find_elements(By.CSS_SELECTOR, "figure.recall img")) == 3
        assert len(browser.find_elements(By.CSS_SELECTOR, "figure.curves img")) == 3
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "UAR" in body and "best baseline" in body and "Quarantine" in body
        link = browser.find_element(By.LINK_TEXT, "statistics (train vs eval)")
        assert link.get_attribute("href").endswith("statistics.html")
    finally:
        browser.quit()


def test_report_numbers_agree_with_the_summary(demo_cli_run):
    page = _report_path(demo_cli_run.stdout).read_text()
    for t in demo_cli_run.summary.tasks:
        assert f"{100 * t.accuracy:.1f}%" in page
        assert t.balanced_accuracy is not None and 0 < t.balanced_accuracy <= 1
        assert f"{100 * t.balanced_accuracy:.1f}%" in page


def test_runs_list_shows_the_run(demo_cli_run, capsys):
    config = demo_cli_run.config
    assert cli.main(["runs", "list", "--output-dir", config.output_dir]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["date", "preset", "tasks"]
    [row] = [x for x in out[1:] if " demo " in x]
    assert "mer,ser,ter" in row and row.rstrip().endswith("ok")
    for t in demo_cli_run.summary.tasks:
        assert f"{t.task} {100 * t.accuracy:.1f}%" in row
        assert f"{t.task} v{t.pushed_version}" in row
