"""Shared test helpers: where the real datasets are, and skipping without them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline.configs import SHARED_DATASETS  # noqa: E402, F401  (one definition, re-exported)

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session):
    """No test reaches beyond 127.0.0.1 (tests/support/network.py says why and how)."""
    from tests.support import network

    network.refuse_outside_loopback()


# Session fixtures too costly to build once per xdist worker, and the test files that use them:
# `make test` runs two workers with `--dist loadfile`, which keeps a file's tests on one worker
# (so its module fixtures are built once); these files also share one worker, so the demo run
# of tests/pipeline/conftest.py happens once per session. Collection checks the list is whole.
SHARED_RUN_FIXTURE = "demo_cli_run"  # `demo_run` and any other view of the run depend on it
SHARED_RUN_FILES = frozenset({
    "tests/pipeline/test_bulk_inferrer.py",
    "tests/pipeline/test_pipeline_e2e.py",
    "tests/pipeline/test_predict_exit.py",
    "tests/pipeline/test_run_output.py",
    "tests/pipeline/test_flink.py",
})


def _test_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    """A test of the shared demo run outside SHARED_RUN_FILES would make a second worker run
    it again (minutes): refuse to collect until the file is listed."""
    for item in items:
        path = _test_file(item.nodeid)
        if path not in SHARED_RUN_FILES and SHARED_RUN_FIXTURE in item.fixturenames:
            raise pytest.UsageError(f"{path} uses the shared demo run: add it to "
                                    f"SHARED_RUN_FILES in tests/conftest.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with the files of the shared demo run as one unit (why: above).

    Not xdist's `loadgroup` marks: pytest 9 keeps node ids where xdist 3.8 cannot append the
    group to them, so those marks are silently ignored and every test is scheduled alone."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFileAndSharedRun(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = _test_file(nodeid)
            return "shared demo run" if path in SHARED_RUN_FILES else path

    return ByFileAndSharedRun(config, log)


def shared_dataset(name: str) -> Path:
    """Path of a real dataset in ../shared/datasets, or skip saying why."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"real dataset {name!r} not found at {path} (../shared is only beside CI "
                    f"and the team's checkouts; a user's clone skips this test)")
    return path
