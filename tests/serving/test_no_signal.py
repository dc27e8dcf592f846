"""Issue 18 item 13: input with nothing in it gets no emotion, the same way on every path.

The rule is `components.core.signal` (text without letters, digitally silent audio); it is
applied in `EmotionClient`, before any backend, so in-process, REST and gRPC refuse the same
inputs with the same reason, and the web app (and its page) shows it as the task's status.
"""

from __future__ import annotations

import numpy as np
import pytest

from components.core.signal import audio_problem, text_problem
from components.core.wav import encode_wav
from serving.errors import NoSignalError

SILENCE = encode_wav(np.zeros(16000 * 3, dtype=np.float32))  # 3 s of digital silence


@pytest.mark.parametrize("text, empty", [
    ("\x00\x00", True), ("😀🎉", True), (".", True), ("\u200b", True), ("123 !?", True),
    ("ok", False), ("é", False), ("日本語", False), ("I'm 😀", False),
])
def test_text_signal_rule(text, empty):
    assert (text_problem(text) is not None) is empty


def test_audio_signal_rule(make_wav):
    assert "digital silence" in audio_problem(SILENCE)
    one_step = encode_wav(np.full(1600, 1 / 32768, dtype=np.float32))
    assert audio_problem(one_step) is not None
    assert audio_problem(make_wav(amplitude=0.005)) is None  # quiet speech is still signal
    assert audio_problem(b"not audio") is None  # left to the model's decoder


@pytest.mark.parametrize("url", ["inprocess", "http://127.0.0.1:{port}",
                                 "grpc://127.0.0.1:{port}"])
def test_every_backend_refuses_the_same_inputs(url, model_repo, free_port, loud_wav):
    """No backend is asked (the REST and gRPC URLs have no server behind them), and the
    reason is the same sentence everywhere."""
    from serving.client import EmotionClient, backend_from_url

    target = str(model_repo) if url == "inprocess" else url.format(port=free_port)
    with EmotionClient(backend_from_url(target, retries=0)) as client:
        with pytest.raises(NoSignalError, match="no letters"):
            client.predict("ter", text="\u200b")
        with pytest.raises(NoSignalError, match="digital silence"):
            client.predict("ser", audio=SILENCE)
        with pytest.raises(NoSignalError, match="row 1 text"):
            client.predict_batch("mer", texts=["so happy", "..."], audios=[loud_wav] * 2)


@pytest.mark.parametrize("model_dir", ["repository", "single model"])
def test_mer_predict_says_no_signal_and_claims_no_emotion(model_repo, tmp_path, model_dir):
    """`mer predict` as a user runs it, on a model repository and on one model's folder (which
    skips the client): the same rule, printed as the web API's status, exit 0."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    silence = tmp_path / "silence.wav"
    silence.write_bytes(SILENCE)
    target = model_repo if model_dir == "repository" else model_repo / "ter"
    for argv, why in ((["--text", "\u200b..."], "no letters"),
                      (["--audio", str(silence), "--task", "ser"], "digital silence")):
        if model_dir == "single model" and argv[0] == "--audio":
            target = model_repo / "ser"
            argv = argv[:2]
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "predict", "--model-dir", str(target),
             *argv], env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT,
            capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if "no_signal" in line]
        assert lines and why in lines[0], done.stdout
        assert not any(line.split()[:1] in (["angry"], ["happy"], ["sad"], ["neutral"])
                       for line in done.stdout.splitlines()), done.stdout
