"""Audio in, one format out: 16 kHz mono 16-bit PCM WAV bytes.

Every later stage (Transform, serving) decodes exactly this format in the TF
graph, so ingestion converts whatever a dataset ships (48 kHz stereo WAV,
FLAC, ...) once, here, and refuses files it cannot trust.
"""

from __future__ import annotations

import io
import os
import struct
from typing import Union

import numpy as np
import soundfile as sf

from components.example_gen import contract

SAMPLE_RATE = contract.SAMPLE_RATE
_FIX = "re-export it as WAV or FLAC (e.g. `sox in.wav -r 16000 -c 1 -b 16 out.wav`) or drop it"


def check_wav_header(path: str) -> None:
    """Raises TRUNCATED_AUDIO when a RIFF/WAVE file holds less than its header declares.

    libsndfile quietly reads a truncated WAV up to where it ends; a clip cut
    mid-write would then train as a shorter, different utterance.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # not RIFF/WAVE: soundfile decides
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise contract.InvalidInput(
                    contract.TRUNCATED_AUDIO, f"{path}: WAV has no data chunk; {_FIX}")
            cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if f.tell() + clen > size:
                    raise contract.InvalidInput(
                        contract.TRUNCATED_AUDIO,
                        f"{path}: header declares {clen} data bytes but the file holds "
                        f"{size - f.tell()}; the file was cut short, {_FIX}")
                return
            f.seek(clen + (clen & 1), os.SEEK_CUR)


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mixes channels by their mean and resamples to 16 kHz (soxr, via librosa)."""
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    samples = samples.astype(np.float32)
    if sample_rate != SAMPLE_RATE and samples.size:
        import librosa

        samples = librosa.resample(samples, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
    return samples.astype(np.float32)


def decode_audio(source: Union[str, bytes]) -> np.ndarray:
    """A file path or encoded bytes -> float32 mono samples at 16 kHz.

    Raises InvalidInput (missing_file, truncated_audio, unreadable_audio,
    empty_audio) with the file named and the fix.
    """
    name = source if isinstance(source, str) else "<bytes>"
    if isinstance(source, str):
        if not os.path.exists(source):
            raise contract.InvalidInput(
                contract.MISSING_FILE,
                f"{source} does not exist; fix the path in the dataset or manifest")
        check_wav_header(source)
        handle = source
    else:
        handle = io.BytesIO(source)
    try:
        samples, sr = sf.read(handle, dtype="float32", always_2d=False)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise contract.InvalidInput(
            contract.UNREADABLE_AUDIO, f"{name}: cannot decode audio ({e}); {_FIX}") from None
    if samples.size == 0:
        raise contract.InvalidInput(contract.EMPTY_AUDIO, f"{name}: no audio samples; {_FIX}")
    samples = to_mono_16k(samples, sr)
    if not np.all(np.isfinite(samples)):
        raise contract.InvalidInput(
            contract.UNREADABLE_AUDIO, f"{name}: audio holds NaN/Inf samples; {_FIX}")
    return samples


def encode_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """float samples in [-1, 1] -> mono 16-bit PCM WAV file bytes."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(samples, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def decode_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    return samples, sr


def file_to_wav_bytes(source: Union[str, bytes]) -> bytes:
    """Any soundfile-readable file or bytes -> the contract's WAV bytes (what models take)."""
    return encode_wav(decode_audio(source))
