"""What the speech recipe relies on to generalise across speakers (issue 19): the speaker-held-out
carve-out, per-utterance normalisation, the voice-changing augmentations and the sequence model."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import dataclasses  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.core import carve_out  # noqa: E402
from components.core import features as ft  # noqa: E402
from components.core.config import ConfigError, TrainConfig  # noqa: E402
from components.trainer import augment as aug  # noqa: E402
from components.trainer.fit import carve_validation, fit_model  # noqa: E402
from components.trainer.models.audio_encoders import UtteranceNorm  # noqa: E402
from tests.support.autograph import skip_tf_keras_autograph  # noqa: E402

CLASSES, FRAMES, BANDS = 3, 40, 64
SPEC = {ft.LOG_MEL: tf.io.FixedLenFeature([FRAMES, BANDS], tf.float32),
        ft.SPEAKER: tf.io.FixedLenFeature([], tf.string)}
ALL_SPEAKERS = [f"{i:02d}" for i in range(1, 25)]
EVAL_SPEAKERS = {"01", "07", "13", "19"}  # a RAVDESS speaker fold
TRAIN_SPEAKERS = [s for s in ALL_SPEAKERS if s not in EVAL_SPEAKERS]


def _rows(speakers, per_speaker: int = 6, seed: int = 0) -> tf.data.Dataset:
    """Frames whose class shifts the low bands; each speaker adds its own offset per band."""
    rng = np.random.default_rng(seed)
    ids = [s for s in speakers for _ in range(per_speaker)]
    y = np.arange(len(ids)) % CLASSES
    frames = rng.normal(size=(len(ids), FRAMES, BANDS)).astype(np.float32)
    frames[:, :, :8] += 2.0 * y[:, None, None]
    return tf.data.Dataset.from_tensor_slices(
        ({ft.LOG_MEL: frames, ft.SPEAKER: np.array(ids)}, y.astype(np.int64)))


def _speakers(rows: tf.data.Dataset) -> list[str]:
    return [x[ft.SPEAKER].numpy().decode() for x, _ in rows]


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_speaker_carve_out_holds_out_whole_train_speakers_never_eval_ones(fraction):
    train, val = carve_validation(_rows(TRAIN_SPEAKERS), fraction, "speakers")
    kept, held = _speakers(train), _speakers(val)
    assert len(kept) + len(held) == 6 * len(TRAIN_SPEAKERS)  # nothing lost
    assert set(held) and set(kept) and not set(held) & set(kept)  # whole speakers
    assert not set(held) & EVAL_SPEAKERS and set(held) <= set(TRAIN_SPEAKERS)
    assert len(set(held)) == round(len(TRAIN_SPEAKERS) * fraction) or fraction == 0.5
    assert tuple(sorted(set(held))) == carve_out.held_out_speakers(TRAIN_SPEAKERS, fraction)
    # Deterministic: the same speakers whatever order the rows come in.
    assert carve_out.held_out_speakers(TRAIN_SPEAKERS[::-1], fraction) == \
        carve_out.held_out_speakers(TRAIN_SPEAKERS, fraction)


def test_speaker_carve_out_without_speakers_says_what_to_change():
    with pytest.raises(ValueError, match="validation_split 'rows'"):
        carve_out.held_out_speakers(["", ""], 0.1)
    no_ids = _rows(TRAIN_SPEAKERS).map(lambda x, y: ({ft.LOG_MEL: x[ft.LOG_MEL]}, y))
    with pytest.raises(ValueError, match="speaker ids the Transform passes through"):
        carve_validation(no_ids, 0.1, "speakers")
    assert carve_validation(_rows(TRAIN_SPEAKERS), 0.0, "speakers")[1] is None


def test_validation_split_is_checked_where_the_preset_is_made():
    from pipeline.configs import get_preset

    preset = get_preset("ravdess")
    with pytest.raises(ConfigError, match="train.validation_split.*rows, speakers"):
        preset.replace(train=dataclasses.replace(preset.train, validation_split="actors"))


@pytest.mark.parametrize("per_band", [False, True])
def test_utterance_norm_gives_each_clip_zero_mean_unit_variance(per_band):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, FRAMES, BANDS)) * rng.uniform(0.5, 9, size=(3, 1, BANDS)) \
        + rng.uniform(-50, 50, size=(3, 1, 1)) + rng.uniform(-5, 5, size=(3, 1, BANDS))
    y = UtteranceNorm(per_band=per_band)(tf.constant(x, tf.float32)).numpy()
    axes = 1 if per_band else (1, 2)
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=axes), 1.0, atol=1e-3)
    if not per_band:  # the bands' relative levels survive: the clip's spectral shape
        np.testing.assert_allclose(np.diff(y.mean(axis=1), axis=1),
                                   np.diff(x.mean(axis=1), axis=1) / x.std(axis=(1, 2))[:, None],
                                   rtol=1e-3, atol=1e-3)
    silence = UtteranceNorm(per_band=per_band)(tf.zeros([1, FRAMES, BANDS]))
    assert np.isfinite(silence).all()


def test_voice_changes_with_factor_one_return_the_input():
    frames = tf.random.normal([2, FRAMES, BANDS])
    np.testing.assert_allclose(aug.stretch_time(frames, tf.ones([2, 1])), frames, atol=1e-6)
    np.testing.assert_allclose(aug.warp_bands(frames, lambda f: f), frames, atol=1e-4)


def test_pitch_up_moves_energy_to_higher_bands_and_tempo_compresses_time():
    tone = np.zeros((1, FRAMES, BANDS), np.float32)
    tone[:, :, 20] = 1.0
    up = aug.warp_bands(tf.constant(tone), lambda f: f / 1.25).numpy()  # 1.25 x the frequency
    assert up[0, 0].argmax() > 20
    beat = np.zeros((1, FRAMES, BANDS), np.float32)
    beat[:, 30] = 1.0
    faster = aug.stretch_time(tf.constant(beat), tf.constant([[1.5]])).numpy()
    assert faster[0, :, 0].argmax() == 20  # frame t plays at t / 1.5


@pytest.mark.parametrize("name", ["speed", "tempo", "pitch", "vtlp"])
def test_voice_changes_keep_shape_stay_finite_and_differ_per_example(name):
    frames = tf.tile(tf.random.normal([1, FRAMES, BANDS]), [8, 1, 1])
    out = getattr(aug, name)(frames).numpy()
    assert out.shape == (8, FRAMES, BANDS) and np.isfinite(out).all()
    assert not np.allclose(out[0], out[1])  # a factor per example


@pytest.mark.slow  # ~1 min on 2 loaded cores (tracing an LSTM under augmentation); the zoo
# test builds, trains a step, exports and serves reslstm in `make test`
def test_reslstm_trains_on_held_out_speakers_with_every_voice_change():
    train, val = carve_validation(_rows(TRAIN_SPEAKERS, 3), 0.2, "speakers")
    cfg = TrainConfig(epochs=2, batch_size=16, hidden_units=16, dropout=0.1, lstm_units=8,
                      learning_rate=3e-3, validation_fraction=0.2, validation_split="speakers",
                      early_stopping_patience=5,
                      augment=("speed", "tempo", "pitch", "vtlp", "spec_mask"))
    with skip_tf_keras_autograph():
        result = fit_model("ser", "reslstm", CLASSES, SPEC, train, cfg, validation_rows=val,
                           verbose=0)
    assert list(result.model.input_names) == [ft.LOG_MEL]  # the speaker is no model input
    assert np.isfinite(result.history["loss"]).all() and "val_loss" in result.history
    assert result.model.count_params() < 100_000  # tens of thousands, as in ResLSTM-SA
