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


def shared_dataset(name: str) -> Path:
    """Path of a real dataset in ../shared/datasets, or skip saying why."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"real dataset {name!r} not found at {path} (../shared is only beside CI "
                    f"and the team's checkouts; a user's clone skips this test)")
    return path
