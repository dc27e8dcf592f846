"""The one training path (`fit_model`): carve-out, schedules, augmentation, ensembles."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.core import features as ft  # noqa: E402
from components.core.carve_out import mask as validation_mask  # noqa: E402
from components.core.config import TrainConfig  # noqa: E402
from components.trainer import augment as aug  # noqa: E402
from components.trainer.fit import (  # noqa: E402
    LENGTH_BUCKET_WORDS,
    LENGTH_BUCKETS,
    carve_validation,
    fit_model,
    train_batches,
)

DIM, CLASSES, FRAMES, BANDS = 12, 3, 20, 8
SPEC = {ft.AUDIO_FEATURES: tf.io.FixedLenFeature([DIM], tf.float32),
        ft.LOG_MEL: tf.io.FixedLenFeature([FRAMES, BANDS], tf.float32),
        ft.TEXT_RAW: tf.io.FixedLenFeature([], tf.string)}


def _rows(n: int = 90, seed: int = 0) -> tf.data.Dataset:
    """Separable classes: the class shifts the utterance vector (and the frames)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % CLASSES
    x = rng.normal(size=(n, DIM)).astype(np.float32) * 0.3
    x[np.arange(n), y] += 2.0
    frames = rng.normal(size=(n, FRAMES, BANDS)).astype(np.float32)
    frames += y[:, None, None].astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((
        {ft.AUDIO_FEATURES: x, ft.LOG_MEL: frames, ft.TEXT_RAW: np.array(["t"] * n)},
        y.astype(np.int64)))


def _cfg(**kw) -> TrainConfig:
    base = dict(epochs=12, batch_size=16, hidden_units=16, dropout=0.1, validation_fraction=0.0,
                early_stopping_patience=0, learning_rate=1e-2, seed=3)
    return TrainConfig(**{**base, **kw})


def test_carve_validation_is_every_kth_row_and_matches_the_baselines_mask():
    rows = _rows(50)
    train, val = carve_validation(rows, 0.2)
    train_y = [int(y) for _, y in train]
    val_y = [int(y) for _, y in val]
    assert len(train_y) == 40 and len(val_y) == 10
    ids = np.arange(50)
    mask = validation_mask(50, 0.2)  # what study_fit uses for the baselines' selection
    assert list(ids[mask] % CLASSES) == val_y and list(ids[~mask] % CLASSES) == train_y
    assert carve_validation(rows, 0.0)[1] is None


def test_group_by_length_batches_texts_of_one_length_and_sees_every_row_once():
    n, batch = 300, 16
    words = np.random.default_rng(4).integers(1, 90, n)
    texts = [" ".join([f"id{i}"] + ["w"] * (k - 1)) for i, k in enumerate(words)]
    rows = tf.data.Dataset.from_tensor_slices(({ft.TEXT_RAW: texts}, np.zeros(n, np.int64)))
    bucket = {i: min(k // LENGTH_BUCKET_WORDS, LENGTH_BUCKETS - 1) for i, k in enumerate(words)}
    cfg = _cfg(batch_size=batch, group_by_length=True)

    def epoch(cfg, inputs):
        ids = []
        for x, _ in train_batches(rows.shuffle(n, seed=1), cfg, inputs):
            ids.append([int(t.decode().split()[0][2:]) for t in x[ft.TEXT_RAW].numpy()])
        return ids

    grouped = epoch(cfg, [ft.TEXT_RAW])
    assert sorted(i for b in grouped for i in b) == list(range(n))  # nothing lost or repeated
    assert all(len({bucket[i] for i in b}) == 1 for b in grouped)
    per_bucket = np.bincount(list(bucket.values()), minlength=LENGTH_BUCKETS)
    assert len(grouped) == sum(-(-c // batch) for c in per_bucket)  # one partial batch each
    order = [bucket[b[0]] for b in grouped]
    assert order != sorted(order) and order != sorted(order, reverse=True)  # lengths mixed
    for plain in (epoch(cfg, [ft.AUDIO_FEATURES]), epoch(_cfg(batch_size=batch), [ft.TEXT_RAW])):
        assert [len(b) for b in plain] == [batch] * (n // batch) + [n % batch]
        assert any(len({bucket[i] for i in b}) > 1 for b in plain)


def test_fit_learns_with_schedule_smoothing_noise_and_mixup():
    train, val = carve_validation(_rows(), 0.2)
    cfg = _cfg(schedule="one_cycle", label_smoothing=0.1, augment=("noise", "mixup"),
               validation_fraction=0.2, early_stopping_patience=50)
    result = fit_model("ser", "dense", CLASSES, SPEC, train, cfg, validation_rows=val, verbose=0)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(result.history)
    assert result.train_examples == 72
    x = np.stack([r[0][ft.AUDIO_FEATURES].numpy() for r in _rows(30, seed=1)])
    y = np.arange(30) % CLASSES
    pred = result.model({ft.AUDIO_FEATURES: x}).numpy().argmax(1)
    assert (pred == y).mean() >= 0.9


def test_same_seed_and_config_train_the_same_model_with_augmentation():
    """What `pushed_equals_benchmark` and every rerun rely on: random augmentation draws
    follow the seed, not the order threads happen to run in. Three fits, one answer."""
    cfg = _cfg(augment=("noise", "mixup"), epochs=8)
    x = {ft.AUDIO_FEATURES: np.random.default_rng(4).normal(size=(16, DIM)).astype(np.float32)}
    outputs = [fit_model("ser", "dense", CLASSES, SPEC, _rows(), cfg, verbose=0).model(x).numpy()
               for _ in range(3)]
    for other in outputs[1:]:
        np.testing.assert_array_equal(other, outputs[0])


def test_ensemble_exports_the_mean_of_its_members():
    result = fit_model("ser", "dense", CLASSES, SPEC, _rows(), _cfg(epochs=3, ensemble_size=3),
                       verbose=0)
    assert len(result.histories) == 3
    members = [layer for layer in result.model.layers if isinstance(layer, tf.keras.Model)]
    assert len(members) == 3
    x = {ft.AUDIO_FEATURES: np.random.default_rng(2).normal(size=(5, DIM)).astype(np.float32)}
    mean = np.mean([m(x).numpy() for m in members], axis=0)
    np.testing.assert_allclose(result.model(x).numpy(), mean, atol=1e-6)
    assert not np.allclose(members[0](x).numpy(), members[1](x).numpy())  # seeds differ


def test_frame_augmentations_keep_shapes_and_change_values():
    frames = tf.random.normal([4, FRAMES, BANDS]) + 5.0
    shifted = aug.time_shift(frames)
    assert shifted.shape == frames.shape
    for i in range(4):  # a circular roll: the same frames, maybe moved
        np.testing.assert_allclose(np.sort(shifted[i].numpy().ravel()),
                                   np.sort(frames[i].numpy().ravel()), rtol=1e-6)
    masked = aug.spec_mask(frames).numpy()
    assert masked.shape == tuple(frames.shape) and (masked == 0).any()
    assert np.abs(aug.gain(frames).numpy() - frames.numpy()).max() <= aug.GAIN + 1e-6


def test_augmentations_that_cannot_apply_fail_before_training():
    with pytest.raises(ValueError, match="spec_mask.*log-mel"):
        aug.make_augment(("spec_mask",), SPEC, [ft.AUDIO_FEATURES])
    with pytest.raises(ValueError, match="mixup.*string"):
        aug.make_augment(("mixup",), SPEC, [ft.TEXT_RAW])
    with pytest.raises(ValueError, match="noise"):
        aug.make_augment(("noise",), SPEC, [ft.LOG_MEL])
    with pytest.raises(ValueError, match="train.augment.*wobble"):
        TrainConfig(augment=("wobble",))
    with pytest.raises(ValueError, match="train.schedule"):
        TrainConfig(schedule="linear")


def test_tdnn_on_frames_trains_with_spec_augment():
    cfg = _cfg(epochs=2, augment=("time_shift", "gain", "spec_mask"))
    result = fit_model("ser", "tdnn", CLASSES, SPEC, _rows(), cfg, verbose=0)
    assert sorted(result.model.input_names) == [ft.LOG_MEL]
    assert np.isfinite(result.history["loss"]).all()  # statistics pooling: no NaN gradients


def test_epoch_progress_counts_every_member_of_an_ensemble_once():
    """The Trainer's bar is sized epochs x ensemble_size; it used to restart at 0 for each
    member (speech presets showed x/450 and stopped at 150). Now it climbs to the total once."""
    from components.core import progress
    from components.trainer.epoch_progress import EpochProgress

    seen: list[tuple[int, int]] = []
    progress.set_listener(lambda step, done, total: seen.append((done, total)))
    try:
        cfg = _cfg(epochs=3, ensemble_size=2)
        fit_model("ser", "dense", CLASSES, SPEC, _rows(), cfg,
                  callbacks=[EpochProgress(cfg.epochs, cfg.ensemble_size)], verbose=0)
    finally:
        progress.set_listener(None)
    done = [d for d, _ in seen]
    assert {t for _, t in seen} == {6}, seen
    assert done == sorted(done) and done[-1] == 6, seen
    assert 4 in done and 5 in done, seen  # the second member's epochs count on from the first's
