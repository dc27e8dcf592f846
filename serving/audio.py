"""Turn user audio (any format libsndfile reads) into what the models take: 16 kHz mono WAV.

Every exported model decodes its `audio` input with `tf.audio.decode_wav`, which only reads
16-bit PCM WAV and does not resample. Browsers and phones produce 44.1/48 kHz stereo WAV,
FLAC or Ogg, so the web app and the CLI normalise uploads here, once, before prediction.

The downmix, resampler and encoder are the ones ingestion uses (components/core/wav.py):
serving audio must go through the same conversion as the training data did, or the model
sees slightly different features at serving time (training/serving skew). What this module
adds is what a server needs on top: a duration limit checked from the header before
decoding, errors a user can act on (`AudioError`), and facts about the upload for the reply.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import numpy as np
import soundfile as sf

from components.core.contract import SAMPLE_RATE, InvalidInput
from components.core.errors import DataError
from components.core.wav import check_wav_complete, encode_wav, to_mono_16k, tone_wav


class AudioError(DataError):
    """The bytes are not audio we can read, or hold no samples."""


class TruncatedAudioError(AudioError):
    """A WAV holding less audio than its header declares (cut short): ingestion's
    `truncated_audio`."""


class AudioTooLongError(AudioError):
    """The audio is longer than the caller's limit."""


@dataclass(frozen=True)
class ConvertedAudio:
    wav_bytes: bytes  # 16 kHz mono PCM_16 WAV file
    duration_s: float
    source_sample_rate: int
    source_channels: int
    source_format: str  # libsndfile's name, e.g. "WAV", "FLAC", "OGG"


def to_wav16k(data: bytes, max_duration_s: Optional[float] = None) -> ConvertedAudio:
    """Decode `data` (a whole audio file), downmix to mono, resample to 16 kHz, encode PCM_16.

    The duration limit is checked from the header *before* decoding, so an hour-long upload
    is rejected without decoding it.
    """
    if not data:
        raise AudioError("the audio file is empty")
    try:  # a cut-short WAV is refused as ingestion quarantines it (one rule, in the core)
        check_wav_complete(data, "the audio")
    except InvalidInput as e:
        raise TruncatedAudioError(f"{e.detail}; send the whole file") from None
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, channels, frames, fmt = f.samplerate, f.channels, f.frames, f.format
            if max_duration_s is not None and frames > 0 and frames / rate > max_duration_s:
                raise AudioTooLongError(
                    f"the audio is {frames / rate:.1f} s long; the limit is {max_duration_s:g} s "
                    f"(trim it, or send a shorter clip)")
            if _is_contract_wav(f, data):
                # Already what the models read, complete: decoding and re-encoding it would
                # give the same samples back, so the bytes go through as they are.
                return ConvertedAudio(data, frames / rate, rate, channels, fmt)
            samples = f.read(dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        reason = getattr(e, "error_string", None) or str(e)
        raise AudioError(
            f"could not decode the audio ({reason}); send a WAV, FLAC or Ogg file "
            f"(formats libsndfile {sf.__libsndfile_version__} reads)") from e
    if samples.shape[0] == 0:
        raise AudioError("the audio file holds no samples")
    duration = samples.shape[0] / rate
    if max_duration_s is not None and duration > max_duration_s:  # headers may omit frames
        raise AudioTooLongError(
            f"the audio is {duration:.1f} s long; the limit is {max_duration_s:g} s")
    mono = to_mono_16k(samples, rate)
    if not np.all(np.isfinite(mono)):
        raise AudioError("the audio holds NaN/Inf samples")
    return ConvertedAudio(encode_wav(mono), duration, rate, channels, fmt)


def _is_contract_wav(f: sf.SoundFile, data: bytes) -> bool:
    """16 kHz mono 16-bit PCM WAV in the canonical layout (44-byte header, then exactly the
    data chunk): what `encode_wav` itself would write for these samples."""
    return (f.format == "WAV" and f.subtype == "PCM_16" and f.samplerate == SAMPLE_RATE
            and f.channels == 1 and f.frames > 0 and data[12:20] == b"fmt \x10\x00\x00\x00"
            and data[36:40] == b"data" and int.from_bytes(data[40:44], "little") == len(data) - 44)


def file_to_wav16k(path: str, max_duration_s: Optional[float] = None) -> bytes:
    """Read an audio file from disk and return 16 kHz mono PCM_16 WAV bytes."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return to_wav16k(data, max_duration_s).wav_bytes
    except AudioError as e:
        raise type(e)(f"{path}: {e}") from e


def warm_up() -> None:
    """Pay the resampler's first-call cost (librosa import, ~2 s) before the first user does."""
    to_wav16k(tone_wav(0.1, sample_rate=44_100))
