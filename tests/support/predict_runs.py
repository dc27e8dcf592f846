"""`mer predict` run as a user runs it, N times: every exit status and answer checked.

Shared by the default suite's 3-run check (tests/pipeline, on the demo run's pushed models)
and the fault suite's 21-run check (tests/reliability). Why repeated: the abort this guards
against (issue 18 item 1: a batch thread alive at interpreter exit, SIGABRT after a correct
answer) hit about half the runs, so one run proves little.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEXT = "I am so happy today"


def predict_argv(serving_dir: Path, kind: str, wav: Path) -> list[str]:
    """`mer predict` with text, audio or both (`--no-asr`: no transcription is wanted)."""
    argv = [sys.executable, "-m", "pipeline.cli", "predict", "--model-dir", str(serving_dir)]
    if kind in ("text", "both"):
        argv += ["--text", TEXT]
    if kind in ("audio", "both"):
        argv += ["--audio", str(wav), "--no-asr"]
    return argv


ANSWERED = {"text": ("ter",), "audio": ("ser",), "both": ("ter", "ser", "mer")}


def run_predicts(serving_dir: Path, wav: Path, kinds: list[str],
                 concurrency: int = 1) -> list[str]:
    """Runs `mer predict` once per entry of `kinds`, `concurrency` at a time (as two users
    of one machine would); returns one line per run that failed (exit status other than 0,
    or a task's answer missing from stdout)."""
    from concurrent.futures import ThreadPoolExecutor

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def one(i: int, kind: str) -> str:
        done = subprocess.run(predict_argv(serving_dir, kind, wav), env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300)
        missing = [t for t in ANSWERED[kind] if f"\n{t}:\n" not in "\n" + done.stdout]
        if done.returncode == 0 and not missing:
            return ""
        tail = (done.stderr.strip().splitlines() or [""])[-1]
        return (f"run {i} ({kind}): exit {done.returncode}, answers missing {missing}; "
                f"stderr ends {tail!r}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, range(len(kinds)), kinds))
    return [failure for failure in outcomes if failure]
