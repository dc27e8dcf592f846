"""Offline speech-to-text with pocketsphinx, so MER can run from audio alone.

MER needs a transcript and the audio. When a user has only a recording, an ASR transcript
is a usable (if noisy) stand-in. pocketsphinx's PyPI wheel ships a small US-English acoustic
and language model, so this works offline, on CPU, in well under real time. Its word error
rate is high on emotional speech: callers must tell users the text came from ASR.

pocketsphinx is optional: `available()` says whether it is installed, and `transcribe`
raises `AsrUnavailableError` with the install command when it is not.
"""

from __future__ import annotations

import io
import threading
from typing import Optional

ENGINE = "pocketsphinx (offline, US English)"

_decoders: dict = {}  # sample rate -> Decoder (loading the model takes ~0.4 s)
_lock = threading.Lock()  # a Decoder is not thread-safe; one utterance at a time


class AsrUnavailableError(RuntimeError):
    """pocketsphinx is not installed."""


def available() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def transcribe(wav_bytes: bytes) -> str:
    """Transcript of a 16 kHz mono PCM_16 WAV file ("" when nothing was recognised)."""
    import numpy as np
    import soundfile as sf

    try:
        from pocketsphinx import Decoder
    except ImportError as e:
        raise AsrUnavailableError(
            "speech transcription needs pocketsphinx: `pip install pocketsphinx` "
            "(or pass the transcript with --text)") from e
    samples, rate = sf.read(io.BytesIO(wav_bytes), dtype="int16", always_2d=True)
    pcm = np.ascontiguousarray(samples[:, 0]).tobytes()
    with _lock:
        decoder = _decoders.get(rate)
        if decoder is None:
            decoder = _decoders[rate] = Decoder(samprate=rate, loglevel="FATAL")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp: Optional[object] = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""
