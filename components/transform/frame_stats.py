"""Statistics over frames: what an utterance vector says about a [batch, frames, dim] matrix.

Kept apart from the spectral code (audio_features) because they are plain reductions over
time that any frame matrix (MFCC, mel, chroma, deltas) goes through the same way.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

#: Statistics over frames an utterance vector may hold, in their fixed order.
STATISTICS: tuple[str, ...] = ("mean", "std")


def validate_stats(stats: Sequence[str]) -> tuple[str, ...]:
    if isinstance(stats, str) or not stats or set(stats) - set(STATISTICS) or \
            len(set(stats)) != len(stats):
        raise ValueError(f"stats must be a non-empty subset of {STATISTICS}, got {stats!r}")
    return tuple(s for s in STATISTICS if s in stats)


def pool(x: tf.Tensor, stats: Sequence[str]) -> tf.Tensor:
    """[batch, frames, dim] -> [batch, dim * len(stats)]: each statistic over the frames.

    The standard deviation is computed in two passes (mean, then mean squared deviation),
    which stays exact where E[x^2] - E[x]^2 would cancel for large, steady values.
    """
    mean = tf.reduce_mean(x, axis=1)
    out = []
    for stat in stats:
        if stat == "mean":
            out.append(mean)
        else:
            out.append(tf.sqrt(tf.reduce_mean(tf.square(x - mean[:, tf.newaxis, :]), axis=1)))
    return tf.concat(out, axis=1)


def segment_means(frames: tf.Tensor, segments: int) -> tf.Tensor:
    """[batch, frames, dim] -> [batch, dim * segments]: means over equal runs of frames.

    Boundaries are numpy's ``linspace(0, frames, segments + 1)`` rounded down, so every segment
    is non-empty when there are at least as many frames as segments (checked at trace time).
    """
    n = frames.shape[1]
    if n is None or n < segments:
        raise ValueError(f"audio segments ({segments}) need a known number of frames >= "
                         f"segments, got {n}; use a longer clip or fewer segments")
    bounds = np.linspace(0, n, segments + 1).astype(int)
    return tf.concat([tf.reduce_mean(frames[:, bounds[i]:bounds[i + 1]], axis=1)
                      for i in range(segments)], axis=1)
