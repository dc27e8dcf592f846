"""The whole pipeline on a small demo corpus (`demo_run`: `mer run` in a subprocess, see
conftest.py), then predictions from raw inputs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from pipeline.configs import get_preset


def test_every_task_is_pushed_in_tf_serving_layout(demo_run):
    config, summary, _ = demo_run
    assert [t.task for t in summary.tasks] == ["ter", "ser", "mer"]
    for t in summary.tasks:
        assert t.accuracy is not None and t.accuracy > 0.25, t
        assert t.blessed and t.pushed_this_run, t
        versions = [d for d in os.listdir(Path(config.serving_dir) / t.task) if d.isdigit()]
        assert versions, f"nothing pushed for {t.task}"
        assert (Path(config.serving_dir) / t.task / versions[0] / "saved_model.pb").exists()


def test_corrupt_file_is_quarantined_and_counted(demo_run):
    _, summary, rows = demo_run
    ing = summary.ingest
    assert ing["quarantined"] == 1
    assert ing["listed"] == len(rows) + 1
    assert ing["written"] + ing["quarantined"] == ing["listed"]
    assert sum(ing["quarantine_by_reason"].values()) == 1


def test_predicts_from_raw_text_and_wav_bytes(demo_run):
    from serving.backends.inprocess import InProcessModel

    config, _, rows = demo_run
    row = rows[0]
    wav = (Path(config.data_root) / row["audio_path"]).read_bytes()
    labels = set(get_preset("demo").labels)
    for task, kwargs in (("ter", {"text": row["text"]}), ("ser", {"audio": wav}),
                         ("mer", {"text": row["text"], "audio": wav})):
        model = InProcessModel(os.path.join(config.serving_dir, task))
        preds = model.predict(**kwargs)
        assert len(preds) == 3
        assert {p.emotion for p in preds} <= labels
        probs = [p.probability for p in preds]
        assert probs == sorted(probs, reverse=True)
        assert 0.0 < sum(probs) <= 1.0 + 1e-5


def test_serving_default_takes_serialized_examples(demo_run):
    import tensorflow as tf

    from components.core import contract
    from components.example_gen.tf_example import to_example
    from serving.backends.versions import resolve_version_dir

    config, _, rows = demo_run
    row = rows[0]
    wav = (Path(config.data_root) / row["audio_path"]).read_bytes()
    utt = contract.Utterance(id="x", dataset="demo", speaker="", gender="", text=row["text"],
                             audio=wav, label=0, emotion="", duration_s=0.0)
    model = tf.saved_model.load(resolve_version_dir(os.path.join(config.serving_dir, "mer")))
    out = model.signatures["serving_default"](
        examples=tf.constant([to_example(utt).SerializeToString()]))
    raw = model.signatures["predict_raw"](text=tf.constant([row["text"]]),
                                         audio=tf.constant([wav]))
    assert out["probabilities"].shape == (1, 4)
    tf.debugging.assert_near(out["probabilities"], raw["probabilities"], atol=1e-5)


def test_run_writes_training_curves(demo_run):
    config, _, _ = demo_run
    runs = list(Path(config.pipeline_root).glob("Trainer.mer/model_run/*/model.json"))
    assert runs
    meta = json.loads(runs[0].read_text())
    assert meta["labels"] == list(get_preset("demo").labels)
    assert (runs[0].parent / "history.csv").exists()


def _librosa_utterance_features(path: str, duration_s: float) -> np.ndarray:
    """The 180 features the reference computed with librosa (16 kHz, our STFT parameters,
    chroma tuning fixed at 0.0, the one documented deviation), padded/trimmed as the preset."""
    import librosa
    import soundfile as sf

    y, sr = sf.read(path, dtype="float32")
    n = int(round(duration_s * sr))
    y = np.pad(y[:n], (0, max(0, n - len(y))))
    kw = {"sr": sr, "n_fft": 2048, "hop_length": 512}
    return np.concatenate([
        librosa.feature.mfcc(y=y, n_mfcc=40, n_mels=128, **kw).mean(axis=1),
        librosa.feature.melspectrogram(y=y, n_mels=128, **kw).mean(axis=1),
        librosa.feature.chroma_stft(y=y, tuning=0.0, **kw).mean(axis=1)])


def test_served_model_equals_librosa_features_through_the_trained_head(demo_run):
    """No training/serving skew: WAV bytes through the pushed model's raw signature give the
    same probabilities as librosa's features, min-max scaled over the train split as the
    Transform's analyzer does, fed to the trained Keras head."""
    import tensorflow as tf

    from serving.backends.versions import resolve_version_dir

    config, summary, _ = demo_run
    data_root = Path(config.data_root)
    paths = {r["id"]: str(data_root / r["audio_path"])
             for r in csv.DictReader(open(data_root / "manifest.csv"))}
    splits = {r["id"]: r["split"] for r in csv.DictReader(
        open(Path(summary.ingest_uri) / "splits.csv"))}
    duration = config.preset.features.duration_s
    train = np.stack([_librosa_utterance_features(paths[i], duration)
                      for i, s in splits.items() if s == "train"])
    lo, span = train.min(axis=0), train.max(axis=0) - train.min(axis=0)
    span = np.where(span > 0, span, 1.0)

    model_dir = resolve_version_dir(os.path.join(config.serving_dir, "ser"))
    served = tf.saved_model.load(model_dir).signatures["predict_raw"]
    head = tf.keras.models.load_model(model_dir)  # the trained Keras model: transformed inputs
    eval_ids = sorted(i for i, s in splits.items() if s == "eval")[:6]
    assert eval_ids
    for clip_id in eval_ids:
        wav = Path(paths[clip_id]).read_bytes()
        raw = served(audio=tf.constant([wav]))["probabilities"].numpy()
        x = ((_librosa_utterance_features(paths[clip_id], duration) - lo) / span)[None]
        ref = head({"audio_features": tf.constant(x.astype(np.float32))}).numpy()
        np.testing.assert_allclose(raw, ref, atol=1e-4, err_msg=clip_id)


def test_pushed_models_refuse_empty_inputs_naming_them(demo_run):
    """Issue 13, probe 3: no "sad 0.55" for no audio; INVALID_ARGUMENT naming the input."""
    import pytest

    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient
    from serving.errors import InvalidInputError

    config, _, rows = demo_run
    wav = (Path(config.data_root) / rows[0]["audio_path"]).read_bytes()
    with EmotionClient(InProcessBackend(config.serving_dir, batching=None)) as client:
        for task, kwargs, name in (("ser", {"audio": b""}, "audio"),
                                   ("ter", {"text": "  "}, "text"),
                                   ("mer", {"text": "", "audio": wav}, "text"),
                                   ("mer", {"text": rows[0]["text"], "audio": b""}, "audio")):
            with pytest.raises(InvalidInputError, match=f"{name} is empty"):
                client.predict(task, **kwargs)
        with pytest.raises(InvalidInputError, match="not a WAV file"):
            client.predict("ser", audio=os.urandom(2000))
