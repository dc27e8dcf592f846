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


# Session fixtures too costly to build once per xdist worker: their tests share one group.
SHARED_RUN_FIXTURES = {"demo_cli_run": "demo_run", "demo_run": "demo_run"}


def pytest_collection_modifyitems(config, items):
    """Groups for `pytest -n N --dist loadgroup` (the Makefile's default): a test file's tests
    stay on one worker, so its module fixtures (a pipeline run, a trained model) are built
    once, and every test of the shared demo run (tests/pipeline/conftest.py) joins one group,
    so that run happens once per session whatever file asks for it."""
    for item in items:
        shared = [SHARED_RUN_FIXTURES[f] for f in item.fixturenames if f in SHARED_RUN_FIXTURES]
        group = shared[0] if shared else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def shared_dataset(name: str) -> Path:
    """Path of a real dataset in ../shared/datasets, or skip saying why."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"real dataset {name!r} not found at {path} (../shared is only beside CI "
                    f"and the team's checkouts; a user's clone skips this test)")
    return path
