"""Statistics over frames: what an utterance vector says about a [batch, frames, dim] matrix.

Kept apart from the spectral code (audio_features) because they are plain reductions over
time that any frame matrix (MFCC, mel, chroma, deltas) goes through the same way.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

#: Statistics over frames an utterance vector may hold, in their fixed order.
STATISTICS: tuple[str, ...] = ("mean", "std")

# librosa.power_to_db's floor (amin; ref=1.0 means no reference offset).
AMIN = 1e-10
_DB_SCALE = 10.0 / np.log(10.0)  # 10 * log10(x) == _DB_SCALE * ln(x)


def power_db(power: tf.Tensor) -> tf.Tensor:
    """10 log10(power) floored at ``AMIN`` (-100 dB): librosa's ``power_to_db(ref=1.0)``
    before its ``top_db`` clip; the spectra and the prosody's loudness share it."""
    return _DB_SCALE * tf.math.log(tf.maximum(power, tf.constant(AMIN, power.dtype)))


def validate_stats(stats: Sequence[str]) -> tuple[str, ...]:
    if isinstance(stats, str) or not stats or set(stats) - set(STATISTICS) or \
            len(set(stats)) != len(stats):
        raise ValueError(f"stats must be a non-empty subset of {STATISTICS}, got {stats!r}")
    return tuple(s for s in STATISTICS if s in stats)


def frame_energy(power: tf.Tensor) -> tf.Tensor:
    """[batch, frames, bins] power -> [batch, frames]: a frame's energy, the sum of its power
    spectrum (what the active-frame rule and the prosody's loudness measure)."""
    return tf.reduce_sum(power, axis=2)


def active_frames(power: tf.Tensor, within_db: float) -> tf.Tensor:
    """[batch, frames, bins] power -> [batch, frames] 0/1: the frames whose energy is within
    ``within_db`` dB of the clip's loudest frame.

    Why: a clip's silence (before and after the words, pauses, the zeros that pad a short clip)
    is frames too, and its share varies with the speaker's timing and the recording, not with
    the emotion; statistics over the active frames alone describe the voice. Per clip, so the
    batch it is served in changes nothing. ``librosa.effects.split`` draws the same line (on
    RMS, ``top_db`` below the peak).
    """
    energy = frame_energy(power)
    # Compared in power, not dB: x >= max * 10^(-db/10) is the dB rule without a log per frame.
    floor = tf.reduce_max(energy, axis=1, keepdims=True) * (10.0 ** (-within_db / 10.0))
    return tf.cast(energy >= floor, power.dtype)


def masked_mean(x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """[batch, frames, dim] -> [batch, dim]: the mean over the frames marked 1 in ``mask``
    ([batch, frames]); 0 where none is (a silent clip), never a division by zero."""
    w = mask[:, :, tf.newaxis]
    count = tf.maximum(tf.reduce_sum(w, axis=1), tf.constant(1.0, x.dtype))
    return tf.reduce_sum(w * x, axis=1) / count


def pool(x: tf.Tensor, stats: Sequence[str], mask: Optional[tf.Tensor] = None) -> tf.Tensor:
    """[batch, frames, dim] -> [batch, dim * len(stats)]: each statistic over the frames.

    With ``mask`` ([batch, frames] of 0/1, :func:`active_frames`) only the marked frames count.
    The standard deviation is computed in two passes (mean, then mean squared deviation),
    which stays exact where E[x^2] - E[x]^2 would cancel for large, steady values.
    """
    if mask is None:
        mean = tf.reduce_mean(x, axis=1)
        deviation = tf.reduce_mean(tf.square(x - mean[:, tf.newaxis, :]), axis=1)
    else:
        mean = masked_mean(x, mask)
        deviation = masked_mean(tf.square(x - mean[:, tf.newaxis, :]), mask)
    out = []
    for stat in stats:
        out.append(mean if stat == "mean" else tf.sqrt(deviation))
    return tf.concat(out, axis=1)


def both_active(mask: tf.Tensor) -> tf.Tensor:
    """The mask of frame-to-frame differences (deltas): both frames active."""
    return mask[:, 1:] * mask[:, :-1]


def segment_means(frames: tf.Tensor, segments: int, mask: Optional[tf.Tensor] = None
                  ) -> tf.Tensor:
    """[batch, frames, dim] -> [batch, dim * segments]: means over equal runs of frames.

    Boundaries are numpy's ``linspace(0, frames, segments + 1)`` rounded down, so every segment
    is non-empty when there are at least as many frames as segments (checked at trace time).
    With ``mask`` the runs divide each clip's span from its first to its last active frame
    (the utterance, not the silence around it), and only active frames count.
    """
    n = frames.shape[1]
    if n is None or n < segments:
        raise ValueError(f"audio segments ({segments}) need a known number of frames >= "
                         f"segments, got {n}; use a longer clip or fewer segments")
    if mask is None:
        bounds = np.linspace(0, n, segments + 1).astype(int)
        return tf.concat([tf.reduce_mean(frames[:, bounds[i]:bounds[i + 1]], axis=1)
                          for i in range(segments)], axis=1)
    t = tf.range(n, dtype=frames.dtype)[tf.newaxis, :]
    active = mask > 0
    big = tf.constant(float(n), frames.dtype)
    first = tf.reduce_min(tf.where(active, t, big), axis=1, keepdims=True)
    last = tf.reduce_max(tf.where(active, t, -big), axis=1, keepdims=True)
    length = tf.maximum(last - first + 1.0, 1.0)
    # Frame t's segment: floor((t - first) * segments / length).
    index = tf.floor((t - first) * float(segments) / length)
    out = []
    for i in range(segments):
        out.append(masked_mean(frames, mask * tf.cast(tf.equal(index, float(i)), frames.dtype)))
    return tf.concat(out, axis=1)
