"""`features.audio_prosody`: pitch, voicing, loudness and timing statistics in the graph.

What a user relies on: the pitch is the voice's fundamental (librosa's YIN agrees frame by
frame, and a tone's level in semitones is its frequency's), the statistics move the way their
names say (a gliding voice has range and movement, a steady one none; noise is unvoiced), the
padding of a short clip changes only how much of the window is speech, and silence is finite.
"""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import tensorflow as tf

from components.core.config import FeatureConfig
from components.transform import audio_features as af
from components.transform import frame_stats, prosody
from components.transform.preprocessing import utterance_options
from tests.transform.test_audio_features import PARAMS, SR

COLUMN = {name: i for i, name in enumerate(prosody.NAMES)}


def voice(f0_start: float, f0_end: float, seconds: float = 1.5, pad_s: float = 0.5,
          total_s: float = 3.0) -> np.ndarray:
    """A harmonic tone gliding from f0_start to f0_end Hz, after pad_s of silence, in total_s
    of samples (zeros after it), with faint noise so the silence is not digital zero."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(np.linspace(f0_start, f0_end, t.size)) / SR
    tone = 0.3 * sum(np.sin(k * phase) / k for k in range(1, 7))
    clip = np.zeros(int(total_s * SR))
    start = int(pad_s * SR)
    clip[start:start + tone.size] = tone
    return clip.astype(np.float32)


def power(clips: np.ndarray) -> tf.Tensor:
    return af.stft_power(tf.constant(np.atleast_2d(clips)), PARAMS.n_fft, PARAMS.hop_length)


def vector(clips: np.ndarray, active_db: float | None = 40.0) -> np.ndarray:
    p = power(clips)
    mask = None if active_db is None else frame_stats.active_frames(p, active_db)
    return prosody.prosody_vector(p, SR, PARAMS.n_fft, mask).numpy()


def test_frame_pitch_agrees_with_librosa_yin_on_voiced_frames():
    clip = voice(110.0, 260.0)
    f0, strength = (a.numpy()[0] for a in prosody.frame_pitch(power(clip), SR, PARAMS.n_fft))
    yin = librosa.yin(clip, fmin=prosody.PITCH_FLOOR_HZ, fmax=prosody.PITCH_CEILING_HZ, sr=SR,
                      frame_length=PARAMS.n_fft, hop_length=PARAMS.hop_length)
    voiced = strength >= prosody.VOICING_THRESHOLD
    assert voiced.sum() >= 35  # the 1.5 s tone, less the frames straddling its edges
    error = np.abs(f0[voiced] - yin[voiced]) / yin[voiced]
    assert np.median(error) < 0.01 and error.max() < 0.05
    assert strength[:8].max() < prosody.VOICING_THRESHOLD  # the leading silence


@pytest.mark.parametrize("f0", [80.0, 150.0, 300.0])
def test_a_steady_tone_sits_at_its_semitones_with_no_range_or_movement(f0):
    v = vector(voice(f0, f0))[0]
    assert v[COLUMN["pitch_mean_st"]] == pytest.approx(12 * np.log2(f0), abs=0.3)
    assert v[COLUMN["pitch_std_st"]] < 0.3 and v[COLUMN["pitch_change_st"]] < 0.2
    assert v[COLUMN["voiced_fraction"]] > 0.9 and v[COLUMN["voicing_strength"]] > 0.8


def test_a_glide_has_range_and_movement_and_noise_is_unvoiced():
    glide, steady = vector(np.stack([voice(120.0, 240.0), voice(170.0, 170.0)]))
    # An octave over 1.5 s: uniform in semitones over 12, so a standard deviation near 3.5.
    assert glide[COLUMN["pitch_std_st"]] == pytest.approx(12 / np.sqrt(12), abs=0.6)
    assert glide[COLUMN["pitch_change_st"]] > 5 * steady[COLUMN["pitch_change_st"]]
    noise = np.random.default_rng(0).normal(0, 0.1, 3 * SR).astype(np.float32)
    unvoiced = vector(noise)[0]
    assert unvoiced[COLUMN["voiced_fraction"]] < 0.1
    assert unvoiced[COLUMN["voicing_strength"]] < 0.3


def test_padding_changes_only_the_active_share_and_silence_is_finite():
    short, padded = voice(150.0, 200.0, total_s=2.5), voice(150.0, 200.0, total_s=4.0)
    a, b = vector(short)[0], vector(padded)[0]
    timing = COLUMN["active_fraction"]
    others = [i for i in range(prosody.WIDTH) if i != timing]
    np.testing.assert_allclose(a[others], b[others], rtol=1e-4, atol=1e-3)
    assert b[timing] == pytest.approx(a[timing] * 2.5 / 4.0, rel=0.05)
    louder = vector(voice(150.0, 200.0) * 4)[0]
    assert louder[COLUMN["loudness_mean_db"]] - a[COLUMN["loudness_mean_db"]] == \
        pytest.approx(20 * np.log10(4), abs=0.1)
    for active_db in (40.0, None):
        silent = vector(np.zeros(3 * SR, np.float32), active_db)
        assert np.all(np.isfinite(silent)) and not silent[0, :5].any()


def test_the_preset_flag_appends_the_prosody_columns_last():
    feats = dataclasses.replace(FeatureConfig(), audio_stats=("mean", "std"), audio_deltas=True,
                                audio_segments=3, mel_db=True, audio_active_db=40.0,
                                audio_prosody=True)
    options = utterance_options(feats)
    clips = np.stack([voice(120.0, 240.0), voice(200.0, 150.0)])
    got = af.utterance_features(tf.constant(clips), PARAMS, **options).numpy()
    width = af.feature_dim(options["kinds"], PARAMS, options["stats"], options["deltas"],
                           options["segments"], prosody=True)
    assert got.shape == (2, width)
    assert width == af.feature_dim(options["kinds"], PARAMS, options["stats"],
                                   options["deltas"], options["segments"]) + prosody.WIDTH
    np.testing.assert_allclose(got[:, -prosody.WIDTH:], vector(clips), rtol=1e-5, atol=1e-4)
    without = af.utterance_features(tf.constant(clips), PARAMS,
                                    **{**options, "prosody": False}).numpy()
    np.testing.assert_array_equal(got[:, :-prosody.WIDTH], without)
