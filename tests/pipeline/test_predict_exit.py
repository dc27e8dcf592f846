"""`mer predict` exits 0 after answering, on the demo run's real pushed models (3 runs).

Issue 18 item 1: it aborted with SIGABRT (exit 134) in about half the runs after printing a
correct answer, because the in-process backend's batch threads were still waking up when the
interpreter shut down. The 21-run version is in the fault suite
(tests/reliability/test_predict_exit.py); this one keeps a cheap guard in `make test`.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.predict_runs import run_predicts


def test_mer_predict_exits_0_with_text_audio_and_both(demo_run):
    config, _, rows = demo_run
    wav = Path(config.data_root) / rows[0]["audio_path"]
    assert run_predicts(Path(config.serving_dir), wav, ["text", "audio", "both"]) == []
