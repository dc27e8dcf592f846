"""The fault suite's shared parts: tiny model repositories and the summary table.

Each test records what it tried and what it measured with `fault_report(case, result)`; the
table is printed at the end of the run (`pytest_terminal_summary`), so a CI log shows the
faults survived and the figures without reading every test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.serving.conftest import build_model, wav_bytes

_RESULTS: list[tuple[str, str, str]] = []  # (case, outcome, result)
FAULT_ROW = "fault_report"


@pytest.fixture
def fault_report(request):
    """`fault_report(case, result)`: a row of the summary table (record it once the case held);
    a failing test adds a FAIL row with its assertion."""
    rows = []

    def record(case: str, result: str) -> None:
        rows.append((case, result))

    yield record
    # Rows travel in the test's report (its user properties), so the table is whole when an
    # xdist worker ran the test (`make test` runs two): `pytest_runtest_logreport` collects.
    table = [(case, "ok", result) for case, result in rows]
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        message = str(call.longrepr.reprcrash.message) if hasattr(call.longrepr, "reprcrash") \
            else "failed"
        table.append((request.node.name, "FAIL", message.splitlines()[0][:160]))
    request.node.user_properties.extend((FAULT_ROW, row) for row in table)


def pytest_runtest_logreport(report) -> None:
    if report.when == "teardown":
        _RESULTS.extend(tuple(row) for name, row in report.user_properties if name == FAULT_ROW)


def pytest_collection_modifyitems(config, items) -> None:
    """The `faults` cases (~11 min) run only when asked for (`-m faults`, `make test-faults`),
    so a plain `pytest` or `pytest -m "not slow"` stays as fast as `make test`."""
    if "faults" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="heavier fault case: run with `make test-faults` "
                                   "(pytest -m faults)")
    for item in items:
        if item.get_closest_marker("faults") is not None:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def pytest_terminal_summary(terminalreporter) -> None:
    if not _RESULTS:
        return
    width = max(len(case) for case, _, _ in _RESULTS)
    terminalreporter.section("fault suite: case, result")
    for case, outcome, result in _RESULTS:
        terminalreporter.write_line(f"{case:<{width}}  {outcome:<4}  {result}")


@pytest.fixture(scope="session")
def make_wav():
    """`make_wav(seconds=, amplitude=, rate=, channels=, fmt=, subtype=)` -> file bytes."""
    return wav_bytes


@pytest.fixture(scope="session")
def good_models(tmp_path_factory) -> Path:
    """Fixture SavedModels with warm-up requests: `<dir>/{ter,ser,mer}` (one version each)."""
    from components.core.warmup import write_warmup_requests

    root = tmp_path_factory.mktemp("good_models")
    for task in ("ter", "ser", "mer"):
        build_model(root / task, task)
        write_warmup_requests(str(root / task), task)
    return root


def copy_version(src: Path, base: Path, version: int) -> Path:
    """Copy a SavedModel folder to `<base>/<version>` (a pushed version)."""
    dst = base / str(version)
    shutil.copytree(src, dst)
    return dst


def truncate(saved_model_dir: Path, keep: int = 100) -> None:
    """Cut `saved_model.pb` to its first `keep` bytes: an interrupted copy."""
    pb = saved_model_dir / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[:keep])
