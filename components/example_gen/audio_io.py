"""Audio in, one format out: 16 kHz mono 16-bit PCM WAV bytes.

Every later stage (Transform, serving) decodes exactly this format in the TF
graph, so ingestion converts whatever a dataset ships (48 kHz stereo WAV,
FLAC, ...) once, here, and refuses files it cannot trust. Every refusal is a
`contract.InvalidInput` whose detail names the file and says what to do, so
it lands in the quarantine report instead of crashing a Beam worker.
"""

from __future__ import annotations

import io
import os
from typing import Union

import numpy as np
import soundfile as sf

from components.core import contract
from components.core.wav import check_wav_complete, encode_wav, to_mono_16k

_FIX = (
    "re-export the file as WAV or FLAC (e.g. `sox in.wav -r 16000 -c 1 -b 16 out.wav`) "
    "or drop it"
)
AudioInput = Union[str, os.PathLike, bytes]


def check_wav_header(data: AudioInput, name: str = "") -> None:
    """`components.core.wav.check_wav_complete` with ingestion's fix appended: serving and
    ingestion judge a cut-short WAV by the same rule (issue 18, item 5)."""
    try:
        check_wav_complete(data, name)
    except contract.InvalidInput as e:
        raise contract.InvalidInput(e.reason, f"{e.detail}, {_FIX}") from None


def decode_audio(source: AudioInput) -> np.ndarray:
    """A file path or encoded bytes -> float32 mono samples at 16 kHz.

    Raises InvalidInput with reason missing_file, truncated_audio,
    unreadable_audio or empty_audio (zero samples); the detail names the file
    and the fix. A silent (all-zero) clip is valid audio and is kept.
    """
    if isinstance(source, (bytes, bytearray)):
        name, handle = "<bytes>", io.BytesIO(bytes(source))
        check_wav_header(bytes(source), name)
    else:
        name = os.fspath(source)
        if not os.path.isfile(name):
            raise contract.InvalidInput(
                contract.MISSING_FILE,
                f"{name} does not exist (or is not a file); fix the path in the dataset "
                f"or manifest, or restore the file")
        check_wav_header(name)
        handle = name
    try:
        samples, sr = sf.read(handle, dtype="float32", always_2d=False)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise contract.InvalidInput(
            contract.UNREADABLE_AUDIO,
            f"{name}: cannot decode audio ({type(e).__name__}: {e}); {_FIX}") from None
    if samples.size == 0:
        raise contract.InvalidInput(
            contract.EMPTY_AUDIO, f"{name}: the file holds no audio samples; {_FIX}")
    samples = to_mono_16k(samples, sr)
    if not np.all(np.isfinite(samples)):
        raise contract.InvalidInput(
            contract.UNREADABLE_AUDIO, f"{name}: audio holds NaN/Inf samples; {_FIX}")
    return samples


def decode_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """WAV (or any soundfile-readable) bytes -> (float32 samples, sample rate), no resampling.

    Raises InvalidInput(unreadable_audio) when the bytes are not audio.
    """
    try:
        samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise contract.InvalidInput(
            contract.UNREADABLE_AUDIO, f"<bytes>: cannot decode audio ({e}); {_FIX}") from None
    return samples, int(sr)


def file_to_wav_bytes(source: AudioInput) -> bytes:
    """Any soundfile-readable file or bytes -> the contract's WAV bytes (what models take)."""
    return encode_wav(decode_audio(source))
