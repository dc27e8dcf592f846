"""One end-to-end demo run shared by the pipeline tests: `mer run` as a user starts it.

It runs in a subprocess so the tests see exactly what a terminal would (file descriptors
included: TensorFlow's C++ runtime writes to fd 2 directly), from a configuration file, on a
small demo corpus with one corrupt clip added, which it also scores with the pushed SER model
(`--infer-root`).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import demo_corpus
from pipeline.configs import REPO_ROOT

# This run is about the wiring (ingest -> ... -> push -> predict); the gate's decisions are
# tested in tests/gate, so here it lets every model through.
RUN_FILE = """preset: demo
train: {epochs: 30}
gate: {min_accuracy: 0.0, baseline_margin: 1.0}
"""


@dataclasses.dataclass
class CliRun:
    config: object  # RunConfig
    summary: object  # RunSummary, read back from ML Metadata
    rows: list[dict]  # the manifest rows (before the corrupt one)
    stdout: str
    returncode: int


@pytest.fixture(scope="session")
def demo_cli_run(tmp_path_factory) -> CliRun:
    from pipeline import cli, cli_config, local_runner

    out = tmp_path_factory.mktemp("run")
    data_root = out / "data"
    demo_corpus.generate(data_root, demo_corpus.DemoCorpusConfig(
        n_speakers=4, utterances_per_class_per_speaker=6))
    # One corrupt file: it must be quarantined, not crash the run or vanish.
    with open(data_root / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    (data_root / "audio" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    with open(data_root / "manifest.csv", "a", newline="") as f:
        csv.DictWriter(f, fieldnames=list(rows[0])).writerow(
            {**rows[0], "id": "corrupt_1", "audio_path": "audio/corrupt.wav"})
    run_file = out / "run.yaml"
    run_file.write_text(RUN_FILE)
    # The same corpus scored once the SER model is pushed (EmotionBulkInferrer).
    argv = ["run", "--config", str(run_file), "--data-root", str(data_root),
            "--output-dir", str(out / "artifacts"), "--infer-root", str(data_root)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    config = cli_config.run_config(cli.build_parser().parse_args(argv))
    return CliRun(config=config, summary=local_runner.summary_of(config), rows=rows,
                  stdout=done.stdout + done.stderr, returncode=done.returncode)


@pytest.fixture(scope="session")
def demo_run(demo_cli_run):
    return demo_cli_run.config, demo_cli_run.summary, demo_cli_run.rows


def log_path(stdout: str) -> Path:
    """The log file the first line of `mer run` names."""
    first = stdout.splitlines()[0]
    return Path(first.split("log: ", 1)[1].strip())
