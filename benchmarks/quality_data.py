"""Quality benchmark data: RAVDESS features and PsychExp texts (and their embeddings), cached.

Why this exists: decoding every clip, computing its in-graph features and encoding every text
costs more than most of the models; loading them once through the pipeline's own readers and
feature code, and caching the result under ``artifacts/benchmarks/quality/``, lets every
protocol and rerun of ``benchmarks/quality.py`` start from the same arrays.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "thesis-results.csv"
CACHE_DIR = ROOT / "artifacts" / "benchmarks" / "quality"

Say = Callable[[str], None]


def _actor(speaker: str) -> int:
    digits = re.findall(r"\d+", speaker)
    if not digits:
        raise ValueError(f"cannot read a RAVDESS actor number from speaker {speaker!r}")
    return int(digits[-1])


def load_ravdess(root: Path, say: Say) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                 list[str]]:
    """(180 features, log-mel [N, frames, 64], labels, actor numbers, label names), cached.

    Features come from the same in-graph code the Transform and the served model run
    (``decode_wav`` + ``utterance_features`` / ``log_mel_frames``) on contract WAV bytes, so the
    benchmark measures the features we ship, not a librosa re-implementation.
    """
    from pipeline.configs import get_preset
    from pipeline.experiments.feature_study_data import compute_features, list_clips, load_wavs

    preset = get_preset("ravdess")
    labels = list(preset.labels)
    clips = [c for c in list_clips(root, "ravdess", say) if c.emotion in labels]
    clips.sort(key=lambda c: str(c.path))
    cache = CACHE_DIR / "ravdess_features.npz"
    names = np.asarray([str(c.path.relative_to(root)) for c in clips])
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if data["names"].shape == names.shape and np.all(data["names"] == names):
            say(f"ravdess: {len(names)} clips, features from cache {cache}")
            return (data["features"], data["logmel"], data["y"], data["actors"], labels)
    t0 = time.time()
    clips, wavs = load_wavs(clips, say)
    names = np.asarray([str(c.path.relative_to(root)) for c in clips])
    duration = float(preset.features.duration_s)
    features = compute_features(wavs, duration)
    logmel = _log_mel(wavs, duration)
    y = np.asarray([labels.index(c.emotion) for c in clips], dtype=np.int64)
    actors = np.asarray([_actor(c.speaker) for c in clips], dtype=np.int64)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(cache, names=names, features=features, logmel=logmel, y=y, actors=actors)
    say(f"ravdess: {len(names)} clips, features {features.shape} + log-mel {logmel.shape} in "
        f"{time.time() - t0:.0f} s (cached to {cache})")
    return features, logmel, y, actors, labels


def _log_mel(wavs: Sequence[bytes], duration_s: float, batch_size: int = 64) -> np.ndarray:
    import tensorflow as tf

    from components.transform import audio_features as af
    from components.transform.wav_decode import decode_wav

    params = af.AudioFeatureParams()
    num_samples = int(round(duration_s * params.sample_rate))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def fn(wav_bytes: tf.Tensor) -> tf.Tensor:
        waveforms, _ = decode_wav(wav_bytes, num_samples)
        return af.log_mel_frames(waveforms, params)

    out = [fn(np.asarray(wavs[i:i + batch_size], dtype=object)).numpy()
           for i in range(0, len(wavs), batch_size)]
    return np.concatenate(out).astype(np.float32)


def load_psychexp(root: Path, say: Say) -> tuple[list[str], np.ndarray, list[str]]:
    """Texts and labels through the ingest reader, so the benchmark sees what ingestion writes."""
    from components.core.contract import Rejected
    from components.example_gen.readers import get_reader
    from pipeline.configs import get_preset

    preset = get_preset("psychexp")
    labels = list(preset.labels)
    texts, y, rejected = [], [], 0
    for row in get_reader(preset.reader)(root, **preset.reader_options):
        if isinstance(row, Rejected) or row.emotion not in labels or not row.text.strip():
            rejected += 1
            continue
        texts.append(row.text)
        y.append(labels.index(row.emotion))
    say(f"psychexp: {len(texts)} texts, {len(labels)} classes ({rejected} rejected)")
    return texts, np.asarray(y, dtype=np.int64), labels


def minilm_embeddings(texts: list[str], say: Say, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled MiniLM-L6 sentence embeddings [N, 384] through the pipeline's hub layers, cached.

    Keyed on a hash of the texts so a changed dataset is recomputed, not silently reused.
    """
    import hashlib

    digest = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]
    cache = CACHE_DIR / f"psychexp_minilm_{digest}.npy"
    if cache.exists():
        say(f"minilm: embeddings from cache {cache}")
        return np.load(cache)
    import tensorflow as tf

    from components.trainer.models.hub_handles import load_keras_layer

    t0 = time.time()
    preprocess = load_keras_layer("minilm_preprocess", seq_length=128)
    encoder = load_keras_layer("minilm", seq_length=128)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def embed(batch: tf.Tensor) -> tf.Tensor:
        return encoder(preprocess(batch))["pooled_output"]

    out = [embed(tf.constant(texts[i:i + batch_size])).numpy()
           for i in range(0, len(texts), batch_size)]
    emb = np.concatenate(out).astype(np.float32)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(cache, emb)
    say(f"minilm: {emb.shape} embeddings in {time.time() - t0:.0f} s (cached to {cache})")
    return emb
