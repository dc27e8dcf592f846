"""The contract's audio format, written one way: 16 kHz mono 16-bit PCM WAV bytes.

Ingestion converts dataset audio with these functions and serving converts user uploads with
the same ones, so a clip reaches the model's in-graph decoder identically in training and at
serving time (no skew from a second resampler or encoder). The warm-up records and tests use
`tone_wav` for real audio without data.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from components.core.contract import SAMPLE_RATE


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mixes channels down by their mean and resamples to 16 kHz (soxr, via librosa).

    `samples` is (frames,) or (frames, channels), as soundfile returns them.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if sample_rate != SAMPLE_RATE and samples.size:
        import librosa  # heavy import, only when a file actually needs resampling

        samples = librosa.resample(samples, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
    return np.ascontiguousarray(samples, dtype=np.float32)


def encode_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Float samples in [-1, 1] -> mono 16-bit PCM WAV file bytes (the contract's audio).

    Values outside [-1, 1] (resampling overshoot) are clipped rather than
    wrapped around by the integer conversion.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(
            f"encode_wav takes mono samples of shape (frames,), got {samples.shape}; "
            f"mix down first with to_mono_16k")
    buf = io.BytesIO()
    sf.write(buf, np.clip(samples, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def tone_wav(seconds: float = 1.0, freq: float = 220.0, amplitude: float = 0.3,
             sample_rate: int = SAMPLE_RATE) -> bytes:
    """A sine tone as WAV bytes: warm-up requests, docs examples and tests need real audio."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return encode_wav(amplitude * np.sin(2 * np.pi * freq * t), sample_rate)
