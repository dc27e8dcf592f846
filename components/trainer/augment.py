"""Training-time augmentation of transformed features, in the Trainer's tf.data pipeline.

Why on the Transform's outputs: the features are computed once by the Transform (and again by
the same graph at serving), so augmenting them here costs nothing at serving time and cannot
leak into the exported model. What each augmentation does, per example of a batch:

* ``time_shift``: rolls the log-mel frames by up to 10% of the clip (circularly; the padded
  silence at a clip's end wraps around like a pause).
* ``gain``: adds a random offset of up to +-0.3 to the log-mel frames: they are z-scored dB, so
  a level change is a constant shift, and 0.3 is about 6 dB at the ~20 dB spread of speech.
* ``spec_mask``: SpecAugment: two time masks of up to 10% of the frames and two frequency masks
  of up to 12% of the bands, set to 0 (the train mean of the z-scored frames).
* ``noise``: Gaussian noise on utterance feature vectors, 0.1 of each feature's spread in the
  batch (scale-free: the vectors may be min-max or z-score scaled).
* ``mixup``: convex combinations of two examples and of their one-hot labels
  (lambda ~ Beta(alpha, alpha)); every numeric input is mixed with the same lambda, so an MER
  example stays a consistent text + audio pair. Inputs that are strings (raw text for
  tokenising encoders) cannot be mixed, so mixup refuses models that read them.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import tensorflow as tf

from components.core import features as ft

Batch = tuple[dict, tf.Tensor]

TIME_SHIFT_FRACTION = 0.1
GAIN = 0.3
TIME_MASKS, TIME_MASK_FRACTION = 2, 0.1
FREQ_MASKS, FREQ_MASK_FRACTION = 2, 0.12
NOISE_SCALE = 0.1


def _uniform_int(shape, upper: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.floor(tf.random.uniform(shape) * tf.cast(upper, tf.float32)), tf.int32)


def time_shift(frames: tf.Tensor) -> tf.Tensor:
    """[B, T, F] rolled along T by a per-example offset in [-10%, +10%] of T."""
    n = tf.shape(frames)[1]
    limit = tf.maximum(1, tf.cast(tf.cast(n, tf.float32) * TIME_SHIFT_FRACTION, tf.int32))
    shift = _uniform_int([tf.shape(frames)[0], 1], 2 * limit + 1) - limit
    index = tf.math.floormod(tf.range(n)[tf.newaxis, :] + shift, n)
    return tf.gather(frames, index, batch_dims=1)


def gain(frames: tf.Tensor) -> tf.Tensor:
    """A per-example level offset of up to +-GAIN (z-scored dB units)."""
    offset = tf.random.uniform([tf.shape(frames)[0], 1, 1], -GAIN, GAIN)
    return frames + tf.cast(offset, frames.dtype)


def _masks(batch: tf.Tensor, length: tf.Tensor, count: int, fraction: float) -> tf.Tensor:
    """[B, length] bool: `count` random bands of up to `fraction` * length per example."""
    positions = tf.range(length)[tf.newaxis, :]
    widest = tf.maximum(1, tf.cast(tf.cast(length, tf.float32) * fraction, tf.int32))
    masked = tf.zeros([batch, length], tf.bool)
    for _ in range(count):
        width = _uniform_int([batch, 1], widest + 1)
        start = _uniform_int([batch, 1], tf.maximum(1, length - width + 1))
        masked |= (positions >= start) & (positions < start + width)
    return masked


def spec_mask(frames: tf.Tensor) -> tf.Tensor:
    """SpecAugment's time and frequency masks on [B, T, F] frames (masked values become 0)."""
    b, t, f = tf.shape(frames)[0], tf.shape(frames)[1], tf.shape(frames)[2]
    time = _masks(b, t, TIME_MASKS, TIME_MASK_FRACTION)[:, :, tf.newaxis]
    freq = _masks(b, f, FREQ_MASKS, FREQ_MASK_FRACTION)[:, tf.newaxis, :]
    return tf.where(time | freq, tf.zeros_like(frames), frames)


def noise(vectors: tf.Tensor) -> tf.Tensor:
    """[B, D] + N(0, (NOISE_SCALE * std_d)^2), std_d the batch's spread of feature d."""
    mean = tf.reduce_mean(vectors, axis=0, keepdims=True)
    spread = tf.sqrt(tf.reduce_mean(tf.square(vectors - mean), axis=0, keepdims=True))
    return vectors + NOISE_SCALE * spread * tf.random.normal(tf.shape(vectors),
                                                             dtype=vectors.dtype)


def _beta(shape, alpha: float) -> tf.Tensor:
    a = tf.random.gamma(shape, alpha)
    b = tf.random.gamma(shape, alpha)
    return a / (a + b)


def mixup(x: dict, y: tf.Tensor, alpha: float) -> Batch:
    """Mix each example with another of the batch (a random permutation), inputs and labels."""
    n = tf.shape(y)[0]
    lam = _beta([n], alpha)
    perm = tf.random.shuffle(tf.range(n))

    def mix(v: tf.Tensor) -> tf.Tensor:
        w = tf.reshape(tf.cast(lam, v.dtype), [-1] + [1] * (len(v.shape) - 1))
        return w * v + (1 - w) * tf.gather(v, perm)

    return {k: mix(v) for k, v in x.items()}, mix(y)


def make_augment(names: Sequence[str], feature_spec: Mapping[str, tf.io.FixedLenFeature],
                 inputs: Sequence[str], mixup_alpha: float = 0.2
                 ) -> Callable[[dict, tf.Tensor], Batch]:
    """A batch -> batch function applying `names` to the inputs they concern.

    Raises ValueError when an augmentation cannot apply to any of `inputs`, so a config that
    asks for SpecAugment on a model without frames fails before training instead of silently
    training without it.
    """
    names = tuple(names)
    frames = [k for k in inputs if k == ft.LOG_MEL]
    vectors = [k for k in inputs if k in (ft.AUDIO_FEATURES,)]
    strings = [k for k in inputs if feature_spec[k].dtype == tf.string]
    for name in names:
        if name in ("time_shift", "gain", "spec_mask") and not frames:
            raise ValueError(f"train.augment {name!r} works on log-mel frames, which this model "
                             f"does not read (its inputs: {sorted(inputs)}); remove it")
        if name == "noise" and not vectors:
            raise ValueError(f"train.augment 'noise' works on utterance feature vectors, which "
                             f"this model does not read (its inputs: {sorted(inputs)})")
        if name == "mixup" and strings:
            raise ValueError(f"train.augment 'mixup' cannot mix string inputs {strings} (raw "
                             f"text for tokenising encoders); remove it for this model")

    def augment(x: dict, y: tf.Tensor) -> Batch:
        x = dict(x)
        for k in frames:
            if "time_shift" in names:
                x[k] = time_shift(x[k])
            if "gain" in names:
                x[k] = gain(x[k])
            if "spec_mask" in names:
                x[k] = spec_mask(x[k])
        for k in vectors:
            if "noise" in names:
                x[k] = noise(x[k])
        if "mixup" in names:
            x, y = mixup(x, y, mixup_alpha)
        return x, y

    return augment
