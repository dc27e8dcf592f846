"""`features.audio_active_db`: utterance statistics over the clip's active frames only.

What a user relies on: the statistics are librosa's frames restricted to the frames within the
set dB of the loudest one (so a librosa-based pipeline gets the same numbers), and the silence
around the words, or the zeros that pad a short clip, no longer change the vector.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import tensorflow as tf

from components.core.config import FeatureConfig
from components.transform import audio_features as af
from tests.transform.test_audio_features import PARAMS, SR, librosa_features, rel_err

ACTIVE_DB = 40.0
STATS = ("mean", "std")


def speech_like(seconds: float) -> np.ndarray:
    """0.5 s of silence, 1.5 s of a gliding harmonic tone with a level contour, then zeros."""
    t = np.arange(int(1.5 * SR)) / SR
    f0 = 150.0 + 60.0 * t
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.2 + 0.3 * np.sin(np.pi * t / 1.5))
    clip = np.zeros(int(seconds * SR), np.float32)
    clip[SR // 2:SR // 2 + voice.size] = voice
    return clip


def reference(y: np.ndarray, segments: int = 3) -> np.ndarray:
    """The masked statistics computed from librosa's frames in numpy, in the vector's order."""
    power = np.abs(librosa.stft(y, n_fft=PARAMS.n_fft, hop_length=PARAMS.hop_length,
                                pad_mode="constant")) ** 2
    db = 10 * np.log10(np.maximum(power.sum(axis=0), 1e-10))
    active = db >= db.max() - ACTIVE_DB
    ref = librosa_features(y)
    mfcc = ref["mfcc"].astype(np.float64)
    mel_db = librosa.power_to_db(ref["mel"], ref=1.0, amin=1e-10, top_db=PARAMS.top_db)
    chroma = ref["chroma"].astype(np.float64)

    def stats(m: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.concatenate([m[:, mask].mean(axis=1), m[:, mask].std(axis=1)])

    frames = np.flatnonzero(active)
    first, last = frames[0], frames[-1]
    index = np.floor((np.arange(active.size) - first) * segments / (last - first + 1))
    parts = [stats(mfcc, active), stats(mel_db.astype(np.float64), active),
             stats(chroma, active), stats(np.diff(mfcc, axis=1), active[1:] & active[:-1])]
    parts += [mfcc[:, active & (index == k)].mean(axis=1) for k in range(segments)]
    return np.concatenate(parts)


def ours(batch: np.ndarray, active_db: float | None = ACTIVE_DB) -> np.ndarray:
    return af.utterance_features(tf.constant(batch), PARAMS, stats=STATS, deltas=True,
                                 mel_db=True, segments=3, active_db=active_db).numpy()


def test_statistics_cover_the_active_frames_as_librosa_frames_do():
    rng = np.random.default_rng(1)
    t = np.arange(3 * SR) / SR
    bursts = (rng.normal(0.0, 0.2, t.size) * (np.sin(2 * np.pi * 2.0 * t) > 0.3))
    batch = np.stack([speech_like(3.0), bursts.astype(np.float32)])
    got = ours(batch)
    for i in range(len(batch)):
        want = reference(batch[i])
        assert got.shape[1] == want.size
        assert rel_err(got[i], want) <= 1e-4, i


def test_padding_a_clip_with_silence_leaves_the_vector_unchanged():
    """The same utterance cut at 2.5 s or padded to 4 s: equal with active frames only; with
    every frame counted the silence share moves the statistics far apart."""
    short, long = speech_like(2.5), speech_like(4.0)
    masked = [ours(c[np.newaxis])[0] for c in (short, long)]
    assert rel_err(masked[1], masked[0]) <= 1e-4
    plain = [ours(c[np.newaxis], active_db=None)[0] for c in (short, long)]
    assert rel_err(plain[1], plain[0]) > 1e-2


def test_a_silent_clip_stays_finite():
    got = ours(np.zeros((1, 3 * SR), np.float32))
    assert np.all(np.isfinite(got))


@pytest.mark.parametrize("value", [0, -3, 200])
def test_out_of_range_thresholds_are_refused_naming_the_field(value):
    with pytest.raises(ValueError, match="features.audio_active_db"):
        FeatureConfig(audio_active_db=value)


@pytest.mark.parametrize("kinds", [("chroma",), ("mel",), ("mfcc",)])
def test_one_kind_alone_equals_its_columns_of_the_full_vector(kinds):
    """Any subset of kinds works with the mask and keeps its columns' meaning."""
    batch = speech_like(3.0)[np.newaxis]
    full = af.utterance_features(tf.constant(batch), PARAMS, stats=STATS,
                                 active_db=ACTIVE_DB).numpy()[0]
    alone = af.utterance_features(tf.constant(batch), PARAMS, kinds=kinds, stats=STATS,
                                  active_db=ACTIVE_DB).numpy()[0]
    widths = {"mfcc": 2 * PARAMS.n_mfcc, "mel": 2 * PARAMS.n_mels, "chroma": 2 * PARAMS.n_chroma}
    start = sum(widths[k] for k in af.FEATURE_KINDS[:af.FEATURE_KINDS.index(kinds[0])])
    assert rel_err(alone, full[start:start + widths[kinds[0]]]) <= 1e-5
