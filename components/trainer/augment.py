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
* ``speed``: speed perturbation, as resampling the waveform by a factor a in [0.9, 1.1] does:
  the clip plays a times faster (frames resampled along time) and every frequency moves by a
  (bands resampled along the mel axis), per example.
* ``tempo``: the time change alone (a in [0.9, 1.1]): faster or slower speech, same voice.
* ``pitch``: the frequency change alone, a pitch shift by resampling of up to +-2 semitones
  (every frequency times a): a higher or lower voice, same timing.
* ``vtlp``: vocal-tract-length perturbation of the mel filterbank (Jaitly & Hinton 2013):
  frequencies up to a boundary scaled by a in [0.9, 1.1], the rest mapped linearly so the
  Nyquist frequency stays put: a longer or shorter vocal tract.
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
from components.transform.audio_features import AudioFeatureParams

Batch = tuple[dict, tf.Tensor]

TIME_SHIFT_FRACTION = 0.1
GAIN = 0.3
TIME_MASKS, TIME_MASK_FRACTION = 2, 0.1
FREQ_MASKS, FREQ_MASK_FRACTION = 2, 0.12
NOISE_SCALE = 0.1
SPEED_RANGE = (0.9, 1.1)  # Kaldi's 3-way speed perturbation spans the same factors
PITCH_SEMITONES = 2.0
VTLP_RANGE = (0.9, 1.1)
VTLP_BOUNDARY_HZ = 4800.0  # Jaitly & Hinton's F_hi, scaled to an 8 kHz Nyquist below
FRAME_AUGMENTATIONS = ("time_shift", "gain", "spec_mask", "speed", "tempo", "pitch", "vtlp")


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


def _factors(frames: tf.Tensor, low: float, high: float) -> tf.Tensor:
    """[B, 1] per-example factors, uniform in [low, high]."""
    return tf.random.uniform([tf.shape(frames)[0], 1], low, high)


def _interpolate(frames: tf.Tensor, source: tf.Tensor, axis: int) -> tf.Tensor:
    """frames [B, T, F] read at fractional `source` positions [B, n] along `axis` (1: time,
    2: bands), linearly interpolated; positions are clamped to the axis (the edge repeats)."""
    size = tf.shape(frames)[axis]
    source = tf.broadcast_to(source, [tf.shape(frames)[0], tf.shape(source)[1]])
    source = tf.clip_by_value(source, 0.0, tf.cast(size - 1, tf.float32))
    low = tf.cast(tf.floor(source), tf.int32)
    high = tf.minimum(low + 1, size - 1)
    w = tf.cast(source - tf.floor(source), frames.dtype)
    w = w[:, :, tf.newaxis] if axis == 1 else w[:, tf.newaxis, :]
    a = tf.gather(frames, low, axis=axis, batch_dims=1)
    b = tf.gather(frames, high, axis=axis, batch_dims=1)
    return (1 - w) * a + w * b


def stretch_time(frames: tf.Tensor, rate: tf.Tensor) -> tf.Tensor:
    """Frames played `rate` [B, 1] times faster: output frame t is input frame t * rate."""
    t = tf.cast(tf.range(tf.shape(frames)[1]), tf.float32)[tf.newaxis, :]
    return _interpolate(frames, t * rate, axis=1)


def _hz_to_mel(hz: tf.Tensor) -> tf.Tensor:
    """librosa's Slaney mel scale (the Transform's filterbank): linear to 1 kHz, then log."""
    linear = hz / (200.0 / 3)
    log = 15.0 + tf.math.log(tf.maximum(hz, 1e-3) / 1000.0) / (tf.math.log(6.4) / 27.0)
    return tf.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: tf.Tensor) -> tf.Tensor:
    linear = mel * (200.0 / 3)
    log = 1000.0 * tf.exp((tf.math.log(6.4) / 27.0) * (mel - 15.0))
    return tf.where(mel >= 15.0, log, linear)


def warp_bands(frames: tf.Tensor, source_hz) -> tf.Tensor:
    """Log-mel frames [B, T, F] with band i showing what the input had at `source_hz(f_i)`,
    f_i the band's centre frequency (Hz, [1, F]) and `source_hz` returning [B, F]."""
    p = AudioFeatureParams()
    n = frames.shape[-1]
    lo = _hz_to_mel(tf.constant(p.fmin, tf.float32))
    hi = _hz_to_mel(tf.constant(p.fmax or p.sample_rate / 2, tf.float32))
    step = (hi - lo) / (n + 1)
    centres = _mel_to_hz(lo + step * tf.cast(tf.range(1, n + 1), tf.float32))[tf.newaxis, :]
    index = (_hz_to_mel(source_hz(centres)) - lo) / step - 1.0
    return _interpolate(frames, index, axis=2)


def speed(frames: tf.Tensor) -> tf.Tensor:
    """Resampled by a factor a: a times faster, every frequency times a."""
    a = _factors(frames, *SPEED_RANGE)
    return warp_bands(stretch_time(frames, a), lambda f: f / a)


def tempo(frames: tf.Tensor) -> tf.Tensor:
    return stretch_time(frames, _factors(frames, *SPEED_RANGE))


def pitch(frames: tf.Tensor) -> tf.Tensor:
    a = tf.pow(2.0, _factors(frames, -PITCH_SEMITONES, PITCH_SEMITONES) / 12.0)
    return warp_bands(frames, lambda f: f / a)


def vtlp(frames: tf.Tensor) -> tf.Tensor:
    """The filterbank's centre f reads the spectrum at f * a below the boundary, then linearly
    up to the Nyquist frequency, which maps onto itself."""
    p = AudioFeatureParams()
    top = float(p.fmax or p.sample_rate / 2)
    a = _factors(frames, *VTLP_RANGE)
    boundary = VTLP_BOUNDARY_HZ * tf.minimum(a, 1.0) / a

    def source(f: tf.Tensor) -> tf.Tensor:
        upper = top - (top - VTLP_BOUNDARY_HZ * tf.minimum(a, 1.0)) / (top - boundary) * (top - f)
        return tf.where(f <= boundary, f * a, upper)

    return warp_bands(frames, source)


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
        if name in FRAME_AUGMENTATIONS and not frames:
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
            for change, fn in (("speed", speed), ("tempo", tempo), ("pitch", pitch),
                               ("vtlp", vtlp)):
                if change in names:
                    x[k] = fn(x[k])
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
