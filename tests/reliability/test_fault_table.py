"""The fault suite's table reaches the terminal when xdist workers ran the cases.

`make test` runs two pytest-xdist workers; a worker's own terminal summary is never shown, so
the rows travel in each test's report to the controller (tests/reliability/conftest.py). Run
as CI runs it: pytest in a subprocess, its exit status and what it printed.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_the_table_lists_the_cases_run_by_xdist_workers():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider",
         "tests/reliability/test_model_inputs.py::"
         "test_random_bytes_as_audio_are_invalid_argument_never_unicode_errors"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True,
        text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    table = done.stdout.split("fault suite: case, result", 1)
    assert len(table) == 2, done.stdout[-3000:]
    assert "random / corrupt-chunk bytes as audio  ok" in table[1], table[1][:2000]
