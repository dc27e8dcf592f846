"""`mer predict` leaves the terminal to the user: TensorFlow's start-up lines and library
warnings go to the command's log (artifacts/logs/mer-predict.log) unless -v (issue 18, item 12).
"""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.cli_errors import LOG_DIR
from tests.conftest import REPO_ROOT

NOISE = ("Unable to register", "FutureWarning", "cuda_", "oneDNN")


def test_predict_prints_the_answer_and_no_library_noise(model_repo):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    log = LOG_DIR / "mer-predict.log"
    before = log.stat().st_size if log.exists() else 0
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "predict", "--model-dir",
                           str(model_repo / "ter"), "--text", "furious"], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[0] == "angry", done.stdout
    assert not [n for n in NOISE if n in done.stdout + done.stderr], done.stderr
    assert done.stderr == "", done.stderr
    assert log.exists() and log.stat().st_size >= before  # where the noise went, if any
