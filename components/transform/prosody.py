"""Prosody of a clip from its power spectrogram: pitch, voicing, loudness and timing.

Why: the MFCC, mel and chroma statistics describe the spectral envelope. Much of what tells
anger from fear or sadness from calm is in the voice's melody and dynamics instead: how high
the pitch sits and how much it moves, how much of the clip is voiced, how loud and how varied
the voice is, how much of the window is speech. These are the F0, voicing and loudness
descriptors of eGeMAPS, the standard acoustic set for affect, reduced to eight numbers per
clip. Pitch is in semitones, so its spread and movement mean the same for a low and a high
voice.

Pitch by autocorrelation (Boersma 1993, Praat's method, on the STFT frames the other
features already computed): the frame's autocorrelation is the inverse FFT of its power
spectrum; divided by the Hann window's own autocorrelation, a periodic frame peaks near 1 at
its period. The lag picked is the best between 1/400 s and 1/60 s, with Praat's small
octave cost favouring the shorter of near-equal peaks (the period rather than twice it). A
frame is voiced when that peak reaches Praat's voicing threshold (0.45) and it is active.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from components.transform import frame_stats

PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 400.0
VOICING_THRESHOLD = 0.45  # Praat's default
OCTAVE_COST = 0.01  # Praat's default: per octave below the ceiling

#: What each column of :func:`prosody_vector` holds, in order.
NAMES: tuple[str, ...] = (
    "pitch_mean_st",      # mean F0 over voiced frames, semitones re 1 Hz
    "pitch_std_st",       # its standard deviation (range of the melody)
    "pitch_change_st",    # mean |F0 change| between consecutive voiced frames (movement)
    "voiced_fraction",    # voiced frames / active frames
    "voicing_strength",   # mean autocorrelation peak over active frames (harsh vs clear)
    "loudness_mean_db",   # mean frame energy in dB over active frames
    "loudness_std_db",    # its standard deviation (dynamics)
    "active_fraction",    # active frames / all frames of the window (how much is speech)
)
WIDTH = len(NAMES)


def _lag_range(sample_rate: int, n_fft: int) -> tuple[int, int]:
    low = int(np.ceil(sample_rate / PITCH_CEILING_HZ))
    high = int(np.floor(sample_rate / PITCH_FLOOR_HZ))
    if high >= n_fft // 2:
        raise ValueError(f"pitch down to {PITCH_FLOOR_HZ} Hz needs frames of more than "
                         f"{2 * high} samples at {sample_rate} Hz, got n_fft={n_fft}")
    return low, high


def _window_autocorrelation(n_fft: int) -> np.ndarray:
    """The periodic Hann window's circular autocorrelation, 1 at lag 0 (what the frame's own
    is divided by, so a periodic signal's peaks do not shrink with the lag)."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    r = np.fft.irfft(np.abs(np.fft.rfft(window)) ** 2, n_fft)
    return r / r[0]


def frame_pitch(power: tf.Tensor, sample_rate: int, n_fft: int) -> tuple[tf.Tensor, tf.Tensor]:
    """[batch, frames, 1 + n_fft // 2] power of Hann-windowed frames -> (F0 in Hz, peak
    strength in [~0, ~1]), each [batch, frames]. Silent frames get strength 0."""
    low, high = _lag_range(sample_rate, n_fft)
    r = tf.signal.irfft(tf.complex(power, tf.zeros_like(power)), fft_length=[n_fft])
    r0 = r[..., :1]
    lags = np.arange(low, high + 1)
    window = tf.constant(_window_autocorrelation(n_fft)[low:high + 1], power.dtype)
    normalised = tf.math.divide_no_nan(r[..., low:high + 1], r0) / window
    cost = tf.constant(OCTAVE_COST * np.log2(lags / lags[0]), power.dtype)
    best = tf.argmax(normalised - cost, axis=-1)
    strength = tf.gather(normalised, best, axis=-1, batch_dims=2)
    f0 = float(sample_rate) / tf.cast(best + low, power.dtype)
    return f0, strength


def prosody_vector(power: tf.Tensor, sample_rate: int, n_fft: int,
                   mask: Optional[tf.Tensor] = None) -> tf.Tensor:
    """[batch, frames, bins] power -> [batch, WIDTH]: the statistics in :data:`NAMES`.

    ``mask`` ([batch, frames] 0/1, ``frame_stats.active_frames``) marks the frames that count
    as speech; without it every frame with any energy does (the padding of a short clip does
    not). A clip with no voiced frame gets 0 for the pitch columns, never NaN.
    """
    energy = frame_stats.frame_energy(power)
    active = tf.cast(energy > 0, power.dtype) if mask is None else mask
    f0, strength = frame_pitch(power, sample_rate, n_fft)
    voiced = active * tf.cast(strength >= VOICING_THRESHOLD, power.dtype)
    semitones = 12.0 * tf.math.log(f0) / np.log(2.0)
    loudness = frame_stats.power_db(energy)

    def mean_std(x: tf.Tensor, m: tf.Tensor) -> tf.Tensor:
        return frame_stats.pool(x[:, :, tf.newaxis], ("mean", "std"), m)

    change = tf.abs(semitones[:, 1:] - semitones[:, :-1])[:, :, tf.newaxis]
    count = tf.reduce_sum(active, axis=1, keepdims=True)
    columns = [
        mean_std(semitones, voiced),
        frame_stats.masked_mean(change, frame_stats.both_active(voiced)),
        tf.math.divide_no_nan(tf.reduce_sum(voiced, axis=1, keepdims=True), count),
        frame_stats.masked_mean(strength[:, :, tf.newaxis], active),
        mean_std(loudness, active),
        tf.reduce_mean(active, axis=1, keepdims=True),
    ]
    return tf.concat(columns, axis=1)
