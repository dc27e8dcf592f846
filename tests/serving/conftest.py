"""Tiny SavedModels with the exported signatures, so serving tests never need the pipeline.

Each model has exactly the Trainer's serving interface (see components/trainer/export.py):
`serving_default` (serialized tf.Examples) and `predict_raw` (raw `text` and/or `audio` WAV
bytes), both returning `probabilities` [N, C] and `emotions` [N, C]. The "models" are plain
TF functions whose answers are predictable, so tests can assert on them:

* ter: keyword counts ("happy", "sad", "angry" word lists) -> logits; no keyword -> neutral.
* ser: RMS energy of the decoded WAV -> loud is angry, quiet is sad, in between neutral. The
  WAV bytes are decoded by the exported models' own decoder (`components/transform/
  wav_decode.py`, inside every Transform graph), so these fixtures refuse what a pushed model
  refuses (another sample rate, 24-bit, float, non-WAV bytes) and read b"" as silence.
* mer: the sum of both logits.

`ter` has a version 2 that adds a fifth class, "surprise", so tests can see the newest
version win.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import socket  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

EMOTIONS = ["neutral", "happy", "sad", "angry"]
MAX_SAMPLES = 16000 * 8  # the fixture SER reads up to 8 s
KEYWORDS = {
    "happy": ["happy", "glad", "great", "joy", "love", "wonderful"],
    "sad": ["sad", "cry", "crying", "lonely", "miss", "tears"],
    "angry": ["angry", "hate", "furious", "mad", "annoyed"],
}


def _build_module(task: str, names: list[str]):
    import tensorflow as tf

    n = len(names)

    def text_logits(text):  # [B] string -> [B, n]
        words = tf.strings.split(tf.strings.lower(text))
        cols = [tf.fill([tf.shape(text)[0]], 0.5)]  # neutral prior
        for emotion in ("happy", "sad", "angry"):
            pattern = "|".join(KEYWORDS[emotion])
            hits = tf.cast(tf.strings.regex_full_match(words, pattern), tf.float32)
            cols.append(3.0 * tf.reduce_sum(hits, axis=1))
        cols += [tf.zeros([tf.shape(text)[0]])] * (n - 4)
        return tf.stack(cols, axis=1)

    def audio_logits(audio):  # [B] WAV bytes -> [B, n]
        from components.transform.wav_decode import decode_wav

        waveforms, lengths = decode_wav(audio, MAX_SAMPLES)
        samples = tf.maximum(tf.cast(lengths, tf.float32), 1.0)
        energy = tf.sqrt(tf.reduce_sum(tf.square(waveforms), axis=1) / samples + 1e-12)
        cols = [1.0 - tf.abs(energy - 0.1) * 10.0,  # neutral: moderate energy
                tf.zeros_like(energy),  # happy
                1.0 - energy * 40.0,  # sad: quiet
                energy * 10.0 - 1.0]  # angry: loud
        cols += [tf.zeros_like(energy)] * (n - 4)
        return tf.stack(cols, axis=1)

    def outputs(logits):
        probs = tf.nn.softmax(logits, axis=-1)
        emotions = tf.tile(tf.constant(names)[tf.newaxis, :], [tf.shape(probs)[0], 1])
        return {"probabilities": probs, "emotions": emotions}

    module = tf.Module()
    if task == "ter":
        raw = tf.function(lambda text: outputs(text_logits(text)),
                          input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        feature_spec = {"text": tf.io.FixedLenFeature([], tf.string)}
    elif task == "ser":
        raw = tf.function(lambda audio: outputs(audio_logits(audio)),
                          input_signature=[tf.TensorSpec([None], tf.string, name="audio")])
        feature_spec = {"audio": tf.io.FixedLenFeature([], tf.string)}
    else:
        raw = tf.function(lambda text, audio: outputs(text_logits(text) + audio_logits(audio)),
                          input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                           tf.TensorSpec([None], tf.string, name="audio")])
        feature_spec = {"text": tf.io.FixedLenFeature([], tf.string),
                        "audio": tf.io.FixedLenFeature([], tf.string)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        parsed = tf.io.parse_example(serialized, feature_spec)
        return raw(**parsed)

    module.raw, module.serve_examples = raw, serve_examples
    return module, {"serving_default": serve_examples.get_concrete_function(),
                    "predict_raw": raw.get_concrete_function()}


def build_model(path: str | Path, task: str, names: list[str] | None = None) -> str:
    """Save a fixture model for `task` at `path` (a version directory)."""
    import tensorflow as tf

    module, signatures = _build_module(task, list(names or EMOTIONS))
    tf.saved_model.save(module, str(path), signatures=signatures)
    return str(path)


def build_repository(root: Path) -> Path:
    """`<root>/{ter,ser,mer}/1/` plus `ter/2` (with an extra "surprise" class)."""
    for task in ("ter", "ser", "mer"):
        build_model(root / task / "1", task)
    build_model(root / "ter" / "2", "ter", EMOTIONS + ["surprise"])
    # A model without `predict_raw`: to check SignatureError end to end.
    import tensorflow as tf

    module, signatures = _build_module("ter", EMOTIONS)
    tf.saved_model.save(module, str(root / "nosig" / "1"),
                        signatures={"serving_default": signatures["serving_default"]})
    return root


@pytest.fixture(scope="session")
def model_repo(tmp_path_factory) -> Path:
    """A TF Serving model repository (`<repo>/<task>/<version>/saved_model.pb`)."""
    return build_repository(tmp_path_factory.mktemp("serving"))


def wav_bytes(seconds: float = 1.0, amplitude: float = 0.1, rate: int = 16000,
              channels: int = 1, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    """A sine tone file; amplitude sets the fixture SER's answer (RMS = amplitude / sqrt 2)."""
    import io

    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * 220 * t)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture(scope="session")
def loud_wav() -> bytes:
    return wav_bytes(amplitude=0.9)  # -> angry


@pytest.fixture(scope="session")
def quiet_wav() -> bytes:
    return wav_bytes(amplitude=0.005)  # -> sad


@pytest.fixture(scope="session")
def tfs_server(model_repo):
    """The TF Serving test double on free 127.0.0.1 ports, shared by the session."""
    from tests.support.tfs_server import TFServingTestServer

    with TFServingTestServer(str(model_repo)) as server:
        yield server


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound then released), for "server down" tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def make_wav():
    """`make_wav(seconds=, amplitude=, rate=, channels=, fmt=, subtype=)` -> file bytes."""
    return wav_bytes
