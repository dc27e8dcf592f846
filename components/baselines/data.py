"""Transformed examples -> NumPy arrays for scikit-learn.

The baselines train on exactly the features the Keras models see (the
Transform outputs), so the comparison in the gate is like for like.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import tensorflow as tf

from components.core import features as ft

TASK_FEATURES = {
    "ter": (ft.TEXT_TFIDF,),
    "ser": (ft.AUDIO_FEATURES,),
    "mer": (ft.TEXT_TFIDF, ft.AUDIO_FEATURES),
}


def load_split(
    examples_uri: str, split: str, feature_spec: dict, task: str, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for one split; MER concatenates TF-IDF and audio features as the reference did."""
    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise FileNotFoundError(f"No transformed examples for split {split!r} in {examples_uri}.")
    names = TASK_FEATURES[task]
    spec = {k: feature_spec[k] for k in names + (ft.LABEL,)}
    ds = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(batch_size)
    xs, ys = [], []
    for batch in ds:
        parsed = tf.io.parse_example(batch, spec)
        xs.append(np.concatenate([parsed[k].numpy().reshape(len(batch), -1) for k in names],
                                 axis=1))
        ys.append(parsed[ft.LABEL].numpy().reshape(-1))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)
