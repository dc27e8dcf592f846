"""SIGKILL the pipeline during Transform, Trainer and Pusher, then rerun (marked `faults`).

After each kill the served versions are byte-identical to what they were before the run (a
kill never half-publishes a version), and the rerun finishes and publishes one complete
version that loads and answers. One small demo corpus, TER only, 2 epochs: about 10 minutes on
2 cores (`make test-faults`).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline import demo_corpus

pytestmark = pytest.mark.faults
REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_FILE = ("preset: demo\ntrain: {epochs: 2}\n"
            "gate: {min_accuracy: 0.0, baseline_margin: 1.0, max_regression: 1.0}\n")


def _tree_digest(base: Path) -> dict[str, str]:
    """Every file under the serving folder -> its sha256 (what a model server could read)."""
    out = {}
    for path in sorted(base.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(base))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


class Run:
    """`mer run` in its own process group, as a user starts it; `kill_when` SIGKILLs it."""

    def __init__(self, root: Path, *extra: str):
        self.argv = [sys.executable, "-m", "pipeline.cli", "run", "--config",
                     str(root / "run.yaml"), "--data-root", str(root / "data"),
                     "--output-dir", str(root / "artifacts"), "--tasks", "ter", *extra]
        self.env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.output = ""

    def finish(self) -> str:
        done = subprocess.run(self.argv, env=self.env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def kill_when(self, ready, timeout_s: float = 600) -> str:
        """Start the run, SIGKILL its process group once `ready(output_so_far)` is true."""
        proc = subprocess.Popen(self.argv, env=self.env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        chunks: list[str] = []
        reader = threading.Thread(target=lambda: [chunks.append(c.decode(errors="replace"))
                                                  for c in iter(lambda: proc.stdout.read(1), b"")],
                                  daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout_s
        try:
            while not ready("".join(chunks)):
                assert proc.poll() is None, "the run ended before the fault:\n" + "".join(chunks)
                assert time.monotonic() < deadline, "".join(chunks)
                time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        reader.join(timeout=10)
        self.output = "".join(chunks)
        return self.output


def _running(component: str, delay_s: float):
    """True `delay_s` after the progress line of `component` appeared without its end."""
    seen: list[float] = []

    def ready(output: str) -> bool:
        last = output.rstrip("\n").rsplit("\n", 1)[-1]
        if component in last and " ran " not in last and "cached" not in last:
            seen.append(time.monotonic()) if not seen else None
            return time.monotonic() - seen[0] >= delay_s
        return False

    return ready


def _served(serving: Path) -> list[str]:
    return sorted(d for d in os.listdir(serving / "ter") if d.isdigit())


def _answers(serving: Path, version: str) -> str:
    from serving.backends.inprocess import InProcessModel

    return InProcessModel(str(serving / "ter" / version)).predict(text="I am so happy")[0].emotion


def test_sigkill_during_transform_trainer_and_pusher_then_rerun(tmp_path, fault_report):
    demo_corpus.generate(tmp_path / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=4, utterances_per_class_per_speaker=4))
    (tmp_path / "run.yaml").write_text(RUN_FILE)
    serving = tmp_path / "artifacts" / "serving"
    Run(tmp_path).finish()
    versions = _served(serving)
    assert len(versions) == 1

    faults = [
        ("Transform", ("--duration", "2.5"), _running("Transform", 3.0)),
        ("Trainer", ("--duration", "2.5", "--epochs", "3"), _running("Trainer", 5.0)),
        # The Pusher is done in about a second: kill it while its staging folder exists.
        ("Pusher", ("--duration", "2.5", "--epochs", "4"),
         lambda out: any(n.startswith(".push-") for n in os.listdir(serving / "ter"))),
    ]
    for component, extra, ready in faults:
        before = _tree_digest(serving)
        start = time.monotonic()
        Run(tmp_path, *extra).kill_when(ready)
        killed_at = time.monotonic() - start
        after_kill = {k: v for k, v in _tree_digest(serving).items()
                      if not k.split("/")[1].startswith(".push-")}
        assert after_kill == before, f"a SIGKILL during {component} changed the served files"
        assert _served(serving) == versions
        start = time.monotonic()
        Run(tmp_path, *extra).finish()
        rerun_s = time.monotonic() - start
        now = _served(serving)
        new = sorted(set(now) - set(versions))
        assert len(new) == 1 and set(versions) <= set(now), (versions, now)
        assert not [n for n in os.listdir(serving / "ter") if n.startswith(".push-")]
        unchanged = {k: v for k, v in _tree_digest(serving).items() if k in before}
        assert unchanged == before, "a rerun changed an already served version"
        assert _answers(serving, new[0]) in {"neutral", "happy", "sad", "angry"}
        versions = now
        fault_report(f"SIGKILL during {component}, rerun",
                     f"killed at {killed_at:.0f} s; served files unchanged; rerun "
                     f"{rerun_s:.0f} s published version {new[0]} (loads, answers)")
