"""The CLI's edge, as a user meets it: what a command says and exits with when the input is
wrong (2, one line) and when the code is (1, where, and where the traceback is); and which
value a run used when a flag and a configuration file disagree.

A bug is injected without any hook in the shipped code: a `sitecustomize.py` on the
subprocess's PYTHONPATH replaces one function before `mer` starts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

TF_NOISE = ("Unable to register", "FutureWarning", "cuda_")


def _mer(*argv: str, inject: str = "", tmp_path: Path = None, timeout: int = 120):
    path = [str(REPO_ROOT)]
    if inject:
        site = tmp_path / "inject"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(textwrap.dedent(inject))
        path.insert(0, str(site))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


# local_runner.run fails as a bug would, after the CLI has resolved the configuration.
BUG_IN_THE_RUNNER = """
    import pipeline.local_runner as local_runner

    def run(config, tasks=None, **kwargs):
        return {}["injected"]

    local_runner.run = run
"""


def test_a_flag_over_a_file_value_says_which_value_it_used_and_why(tmp_path):
    config = tmp_path / "r.yaml"
    config.write_text("preset: demo\ntrain:\n  epochs: 5\n")
    done = _mer("run", "--epochs", "3", "--config", str(config), "--output-dir",
                str(tmp_path / "out"), inject=BUG_IN_THE_RUNNER, tmp_path=tmp_path)
    note = f"configuration: train.epochs = 3 from --epochs, overriding 5 from {config}:3"
    assert note in done.stdout, done.stdout + done.stderr
    shown = _mer("config", "show", "--resolved", "--config", str(config), "--epochs", "3")
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.startswith("train.epochs:"))
    assert re.match(r"train\.epochs:\s+3\s+# --epochs$", line), line
    batch = next(x for x in shown.stdout.splitlines() if x.startswith("train.batch_size:"))
    assert batch.endswith("# preset demo"), batch


def test_a_bug_exits_1_naming_where_it_is_and_where_the_traceback_is(tmp_path):
    done = _mer("run", "--preset", "demo", "--output-dir", str(tmp_path / "out"),
                inject=BUG_IN_THE_RUNNER, tmp_path=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    err = done.stderr.splitlines()
    assert err[-2] == "mer: internal error (a bug, not your input): KeyError: 'injected'", err
    assert re.search(r"at .*sitecustomize\.py:\d+ in run \(from pipeline/cli\.py:\d+ in "
                     r"cmd_run\); full traceback in (\S+run\.log)\.", err[-1]), err
    log = Path(re.search(r"in (\S+run\.log)\.", err[-1]).group(1))
    assert "Traceback" in log.read_text() and "KeyError: 'injected'" in log.read_text()
    assert "Traceback" not in done.stdout + done.stderr


def test_a_missing_data_root_exits_2_with_one_line_before_tensorflow(tmp_path):
    start = time.monotonic()
    done = _mer("run", "--preset", "ravdess", "--data-root", str(tmp_path / "nowhere"),
                "--output-dir", str(tmp_path / "out"))
    took = time.monotonic() - start
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"mer: error: Data root {tmp_path / 'nowhere'} does not exist. Pass --data-root pointing "
        f"at the ravdess dataset (see docs/datasets.md for the expected layout)."]
    assert took < 10, took  # no TensorFlow import (about 4 s on its own)


@pytest.mark.parametrize("argv", [
    ("predict", "--audio", "/nonexistent/clip.wav"),
    ("evaluate", "--model-dir", "/nonexistent/ser", "--preset", "ravdess", "--data-root", "."),
])
def test_a_missing_input_file_is_one_line_without_library_noise(argv, tmp_path):
    done = _mer(*argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"mer: error: {argv[1]} {argv[2]}: no such file" + ("" if argv[0] == "predict"
                                                           else " or folder")], done.stderr
    assert not any(noise in done.stderr for noise in TF_NOISE)
