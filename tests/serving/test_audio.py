"""Upload normalisation: any libsndfile format -> 16 kHz mono PCM_16 WAV."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from serving.audio import AudioError, AudioTooLongError, to_wav16k


@pytest.mark.parametrize("rate,channels,fmt,subtype", [
    (44100, 2, "WAV", "PCM_16"),
    (48000, 1, "WAV", "FLOAT"),
    (22050, 1, "FLAC", "PCM_16"),
    (16000, 2, "OGG", "VORBIS"),
])
def test_converts_to_16k_mono_pcm16(make_wav, rate, channels, fmt, subtype):
    data = make_wav(seconds=1.5, amplitude=0.5, rate=rate, channels=channels, fmt=fmt,
                    subtype=subtype)
    out = to_wav16k(data)
    info = sf.info(io.BytesIO(out.wav_bytes))
    assert (info.samplerate, info.channels, info.format, info.subtype) == (
        16000, 1, "WAV", "PCM_16")
    assert out.duration_s == pytest.approx(1.5, abs=0.01)
    assert (out.source_sample_rate, out.source_channels, out.source_format) == (
        rate, channels, fmt)
    samples, _ = sf.read(io.BytesIO(out.wav_bytes))
    assert len(samples) == pytest.approx(24000, abs=2)
    assert np.sqrt(np.mean(samples ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_rejects_garbage_empty_and_too_long(make_wav):
    with pytest.raises(AudioError, match="could not decode"):
        to_wav16k(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioError, match="empty"):
        to_wav16k(b"")
    with pytest.raises(AudioTooLongError, match="limit is 30 s"):
        to_wav16k(make_wav(seconds=31), max_duration_s=30)


def test_contract_wav_goes_through_unchanged_and_others_are_rewritten(make_wav):
    wav = make_wav(seconds=0.5, amplitude=0.3)  # 16 kHz mono PCM_16, canonical layout
    assert to_wav16k(wav).wav_bytes == wav
    truncated = wav[:-100]  # the header claims more data than follows: re-encoded, readable
    out = to_wav16k(truncated).wav_bytes
    assert out != truncated and int.from_bytes(out[40:44], "little") == len(out) - 44
