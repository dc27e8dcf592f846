"""The feature study's train/test splits, train-only scaling and its 1D CNN.

Why this exists: how a feature combination is scored (seeded 80/20 splits, speaker-dependent
or speaker-disjoint; min-max statistics from the train split only; a fixed-epoch CNN whose
final model is scored) is what makes its accuracies honest; the model study and the benchmarks
reuse the same train-only scaling.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

SPLITS: tuple[str, ...] = ("random", "speaker")


def make_splits(labels: np.ndarray, speakers: np.ndarray, runs: int, split: str, seed: int,
                test_fraction: float = 0.2) -> list[tuple[np.ndarray, np.ndarray]]:
    """``runs`` seeded (train, test) index pairs: stratified random, or speaker-disjoint.

    "random" is the reference's protocol (speaker-dependent: the same actors appear in train
    and test); "speaker" holds out ~``test_fraction`` of the speakers, the harder and more
    honest estimate of accuracy on new voices.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    idx = np.arange(len(labels))
    out = []
    for run in range(runs):
        if split == "random":
            train, test = train_test_split(idx, test_size=test_fraction, stratify=labels,
                                           random_state=seed + run)
        else:
            if len(set(speakers.tolist())) < 2:
                raise ValueError("a speaker split needs at least 2 speakers")
            gss = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed + run)
            train, test = next(gss.split(idx, labels, groups=speakers))
        out.append((np.sort(train), np.sort(test)))
    return out


def minmax_scale(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale to [0, 1] with the train split's min/max only (the test split may leave [0, 1])."""
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return ((x_train - lo) / span).astype(np.float32), ((x_test - lo) / span).astype(np.float32)


def train_cnn1d(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray, n_classes: int, epochs: int, batch_size: int, hp: dict,
                seed: int) -> dict:
    """Train the pipeline's 1D CNN (``build_model("ser", "cnn1d")``) and score the final model.

    A fixed epoch count and no early stopping: stopping on the test split would report a
    best-epoch accuracy that overstates what a deployed model achieves.
    """
    import tensorflow as tf

    from components.core.features import AUDIO_FEATURES
    from components.trainer.models.build import build_model

    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    spec = {AUDIO_FEATURES: tf.io.FixedLenFeature([x_train.shape[1]], tf.float32)}
    model = build_model("ser", "cnn1d", n_classes, spec, hp)
    model.fit({AUDIO_FEATURES: x_train}, y_train, epochs=epochs, batch_size=batch_size,
              shuffle=True, verbose=0)
    pred_train = model.predict({AUDIO_FEATURES: x_train}, batch_size=256, verbose=0).argmax(1)
    pred_test = model.predict({AUDIO_FEATURES: x_test}, batch_size=256, verbose=0).argmax(1)
    return {"train_accuracy": float(np.mean(pred_train == y_train)),
            "accuracy": float(np.mean(pred_test == y_test))}
