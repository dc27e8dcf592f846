"""Decoding any input to the contract's 16 kHz mono PCM WAV, and refusing bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from components.example_gen import audio_io, contract
from tests.example_gen.conftest import truncate, write_wav


def test_48k_stereo_wav_becomes_16k_mono_with_same_duration(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=1.0, sr=48000, channels=2)
    samples = audio_io.decode_audio(str(path))
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - 16000) <= 2
    wav = audio_io.encode_wav(samples)
    info = sf.info(__import__("io").BytesIO(wav))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_flac_is_read(tmp_path):
    path = write_wav(tmp_path / "a.flac", seconds=0.25, fmt="FLAC")
    assert len(audio_io.decode_audio(str(path))) == 4000


def test_encode_decode_roundtrip_is_pcm16_exact():
    x = (np.arange(-100, 100) / 32768).astype(np.float32)
    back, sr = audio_io.decode_wav_bytes(audio_io.encode_wav(x))
    assert sr == 16000
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("make,reason", [
    (lambda p: truncate(write_wav(p, seconds=1.0)), contract.TRUNCATED_AUDIO),
    (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage") and p, contract.TRUNCATED_AUDIO),
    (lambda p: p.write_bytes(b"this is not audio at all") and p, contract.UNREADABLE_AUDIO),
    (lambda p: write_wav(p, seconds=0.0), contract.EMPTY_AUDIO),
    (lambda p: p, contract.MISSING_FILE),
])
def test_bad_files_raise_with_reason_and_name(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(contract.InvalidInput) as e:
        audio_io.decode_audio(str(path))
    assert e.value.reason == reason
    assert "bad.wav" in e.value.detail
