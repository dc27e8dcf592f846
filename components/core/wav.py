"""The contract's audio format, written one way: 16 kHz mono 16-bit PCM WAV bytes.

Ingestion converts dataset audio with these functions and serving converts user uploads with
the same ones, so a clip reaches the model's in-graph decoder identically in training and at
serving time (no skew from a second resampler or encoder). The warm-up records and tests use
`tone_wav` for real audio without data.
"""

from __future__ import annotations

import io
import os
import struct
from typing import Union

import numpy as np
import soundfile as sf

from components.core import contract
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


# Streaming writers (ffmpeg to a pipe, some recorders) cannot seek back to fill in
# the sizes and leave these placeholders; libsndfile then reads to the end of file.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


def check_wav_complete(data: Union[str, os.PathLike, bytes], name: str = "") -> None:
    """Raises `contract.InvalidInput(TRUNCATED_AUDIO)` when a RIFF/WAVE file holds less audio
    than its header declares: the one rule ingestion (quarantine) and serving (400) share.

    libsndfile quietly reads a truncated WAV up to where it ends; a clip cut mid-copy or
    mid-upload would then train, or be answered, as a shorter, different utterance. Only the
    `data` chunk is checked: a file cut inside trailing metadata (LIST, id3) still holds all
    its audio. Non-RIFF input is left to soundfile.
    """
    if isinstance(data, (bytes, bytearray)):
        f: io.IOBase = io.BytesIO(data)
        size = len(data)
        name = name or "<bytes>"
    else:
        f = open(data, "rb")  # closed by the `with` below
        size = os.path.getsize(data)
        name = name or os.fspath(data)
    with f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise contract.InvalidInput(
                    contract.TRUNCATED_AUDIO,
                    f"{name}: WAV file ends before its data chunk (file holds {size} bytes); "
                    f"the file was cut short")
            cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                held = size - f.tell()
                if clen not in _UNKNOWN_SIZES and clen > held:
                    raise contract.InvalidInput(
                        contract.TRUNCATED_AUDIO,
                        f"{name}: WAV header declares {clen} data bytes but the file holds "
                        f"{held}; the file was cut short")
                return
            f.seek(clen + (clen & 1), os.SEEK_CUR)  # chunks are word-aligned
