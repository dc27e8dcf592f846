"""`mer predict` exits 0 every time: 21 runs (text, audio, both) on real pushed models.

Issue 18 item 1: `mer predict` printed a correct answer, then aborted (exit 134, "terminate
called after throwing an instance of ''") in 4 of 6 and 5 of 10 runs, because a daemon batch
thread of the in-process backend was still waking up while the interpreter finalised. Fixture
models (tests/serving) do not show it: the models here are trained by one small `mer run`
(2 speakers, 1 epoch). Marked `faults` (`make test-faults`); the runs go two at a time (each
spends most of its life importing TensorFlow on one core); the default suite keeps a 3-run
check (tests/pipeline/test_predict_exit.py).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import demo_corpus
from tests.support.predict_runs import REPO_ROOT, run_predicts

pytestmark = pytest.mark.faults
RUN_FILE = ("preset: demo\ntrain: {epochs: 1}\n"
            "gate: {min_accuracy: 0.0, baseline_margin: 1.0, max_regression: 1.0}\n")


@pytest.fixture(scope="module")
def pushed(tmp_path_factory) -> tuple[Path, Path]:
    """(serving dir with ter/ser/mer pushed by a real run, a WAV of its corpus)."""
    root = tmp_path_factory.mktemp("predict_exit")
    demo_corpus.generate(root / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=2, utterances_per_class_per_speaker=4))
    (root / "run.yaml").write_text(RUN_FILE)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--config", str(root / "run.yaml"),
         "--data-root", str(root / "data"), "--output-dir", str(root / "artifacts")],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(root / "data" / "manifest.csv") as f:
        row = next(csv.DictReader(f))
    return root / "artifacts" / "serving", root / "data" / row["audio_path"]


def test_mer_predict_exits_0_in_21_runs(pushed, fault_report):
    serving, wav = pushed
    kinds = ["text", "audio", "both"] * 7
    failures = run_predicts(serving, wav, kinds, concurrency=2)
    assert failures == [], "\n".join(failures)
    fault_report("mer predict x21 (text/audio/both)", "21 of 21 exit 0 with every answer")
