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
        to_wav16k(b"not audio at all, just some bytes")
    with pytest.raises(AudioError, match="ends before its data chunk"):
        to_wav16k(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioError, match="empty"):
        to_wav16k(b"")
    with pytest.raises(AudioTooLongError, match="limit is 30 s"):
        to_wav16k(make_wav(seconds=31), max_duration_s=30)


def test_contract_wav_goes_through_unchanged_and_others_are_rewritten(make_wav):
    wav = make_wav(seconds=0.5, amplitude=0.3)  # 16 kHz mono PCM_16, canonical layout
    assert to_wav16k(wav).wav_bytes == wav
    stereo = make_wav(seconds=0.5, amplitude=0.3, channels=2)
    out = to_wav16k(stereo).wav_bytes
    assert out != stereo and int.from_bytes(out[40:44], "little") == len(out) - 44
    with pytest.raises(AudioError, match="cut short"):  # header claims more than follows
        to_wav16k(wav[:-100])


@pytest.mark.parametrize("rate, channels", [(16000, 1), (44100, 2)])
def test_a_cut_short_wav_is_judged_as_ingestion_judges_it(make_wav, rate, channels):
    """Issue 18 item 5: the first third of a WAV with its header unchanged (sizes that lie) is
    refused by serving with the reason ingestion quarantines it under, from one rule."""
    from components.core import contract
    from components.example_gen import audio_io
    from serving.audio import TruncatedAudioError

    data = make_wav(seconds=3.0, amplitude=0.3, rate=rate, channels=channels)
    cut = data[: len(data) // 3]
    with pytest.raises(contract.InvalidInput) as ingested:
        audio_io.decode_audio(cut)
    with pytest.raises(TruncatedAudioError) as served:
        to_wav16k(cut)
    assert ingested.value.reason == contract.TRUNCATED_AUDIO
    declared = ingested.value.detail.split(";")[0].split(": ", 1)[1]
    assert declared in str(served.value)  # the same finding, word for word
    assert to_wav16k(data).duration_s == pytest.approx(3.0, abs=0.01)  # the whole file: fine
