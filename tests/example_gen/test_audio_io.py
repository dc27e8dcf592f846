"""Decoding any input to the contract's 16 kHz mono PCM WAV, refusing bad files, and loading."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from components.core import contract
from components.core.wav import encode_wav
from components.example_gen import audio_io
from components.example_gen.loading import load_or_reject, load_source
from tests.example_gen.conftest import tone, truncate, write_wav

LABELS = ("neutral", "happy", "sad", "angry")


def _wav_info(data: bytes):
    return sf.info(io.BytesIO(data))


# --- decoding --------------------------------------------------------------------------------


def test_48k_stereo_wav_becomes_16k_mono_with_same_duration(tmp_path):
    path = tmp_path / "a.wav"
    left = tone(1.0, sr=48000)
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), 48000, subtype="PCM_16")
    samples = audio_io.decode_audio(str(path))
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - 16000) <= 2
    # Channels are averaged: a 0.3 sine on one channel and silence on the other -> 0.15.
    assert np.max(np.abs(samples[1000:-1000])) == pytest.approx(0.15, abs=0.01)
    wav = encode_wav(samples)
    info = _wav_info(wav)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        16000, 1, "PCM_16", "WAV")


def test_resampling_keeps_the_pitch(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=1.0, sr=22050)  # 220 Hz tone
    samples = audio_io.decode_audio(path)  # a Path works as well as a str
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * 16000 / len(samples)
    assert abs(peak_hz - 220) < 2
    assert abs(len(samples) - 16000) <= 2


def test_flac_and_16k_wav_are_read_without_resampling(tmp_path):
    flac = write_wav(tmp_path / "a.flac", seconds=0.25, fmt="FLAC")
    wav = write_wav(tmp_path / "b.wav", seconds=0.25)
    assert len(audio_io.decode_audio(str(flac))) == 4000
    np.testing.assert_allclose(audio_io.decode_audio(str(wav)), tone(0.25), atol=1 / 32768)


def test_bytes_decode_like_the_file(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=0.3, sr=44100, channels=2)
    np.testing.assert_array_equal(audio_io.decode_audio(path.read_bytes()),
                                  audio_io.decode_audio(str(path)))


def test_encode_decode_roundtrip_is_pcm16_exact():
    x = (np.arange(-100, 100) / 32768).astype(np.float32)
    data = encode_wav(x)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    back, sr = audio_io.decode_wav_bytes(data)
    assert sr == 16000
    np.testing.assert_array_equal(back, x)


def test_encode_clips_instead_of_wrapping_and_refuses_stereo():
    back, _ = audio_io.decode_wav_bytes(encode_wav(np.array([1.5, -1.5, 0.5])))
    assert back[0] > 0.99 and back[1] < -0.99 and back[2] == 0.5
    with pytest.raises(ValueError, match="mono"):
        encode_wav(np.zeros((10, 2)))


def test_decode_wav_bytes_refuses_garbage():
    with pytest.raises(contract.InvalidInput) as e:
        audio_io.decode_wav_bytes(b"definitely not a wav")
    assert e.value.reason == contract.UNREADABLE_AUDIO


def test_silent_clip_is_valid_audio(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(1600, dtype=np.float32), 16000, subtype="PCM_16")
    samples = audio_io.decode_audio(str(path))
    assert len(samples) == 1600 and not samples.any()


def _empty_wav(p):
    sf.write(p, np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    return p


def _nan_wav(p):
    sf.write(p, np.array([0.1, np.nan, 0.2], dtype=np.float32), 16000, subtype="FLOAT")
    return p


@pytest.mark.parametrize("make,reason", [
    (lambda p: truncate(write_wav(p, seconds=1.0), keep=2000), contract.TRUNCATED_AUDIO),
    (lambda p: truncate(write_wav(p, seconds=1.0), keep=30), contract.TRUNCATED_AUDIO),
    (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage") and p, contract.TRUNCATED_AUDIO),
    (lambda p: p.write_bytes(b"this is not audio at all") and p, contract.UNREADABLE_AUDIO),
    (lambda p: p.write_bytes(b"") and p, contract.UNREADABLE_AUDIO),
    (_nan_wav, contract.UNREADABLE_AUDIO),
    (_empty_wav, contract.EMPTY_AUDIO),
    (lambda p: p, contract.MISSING_FILE),
], ids=["cut-in-data", "cut-in-header", "no-chunks", "not-audio", "zero-bytes", "nan",
        "zero-samples", "missing"])
def test_bad_files_raise_with_reason_file_and_fix(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(contract.InvalidInput) as e:
        audio_io.decode_audio(str(path))
    assert e.value.reason == reason
    assert str(path) in e.value.detail
    fix = "fix the path" if reason == contract.MISSING_FILE else "re-export the file"
    assert fix in e.value.detail


def test_truncated_wav_bytes_are_refused(tmp_path):
    data = write_wav(tmp_path / "a.wav", seconds=1.0).read_bytes()
    with pytest.raises(contract.InvalidInput) as e:
        audio_io.decode_audio(data[: len(data) // 2])
    assert e.value.reason == contract.TRUNCATED_AUDIO
    assert "declares 32000 data bytes" in e.value.detail


def test_cut_trailing_metadata_keeps_complete_audio(tmp_path):
    """A file cut inside a LIST chunk after the data still holds all its audio."""
    data = write_wav(tmp_path / "a.wav", seconds=0.25).read_bytes()
    path = tmp_path / "b.wav"
    path.write_bytes(data + b"LIST" + struct.pack("<I", 64) + b"INFOIART")
    assert len(audio_io.decode_audio(str(path))) == 4000


def test_streamed_wav_with_unknown_sizes_is_read(tmp_path):
    """ffmpeg writing to a pipe leaves 0xFFFFFFFF as the sizes; that is not truncation."""
    data = bytearray(write_wav(tmp_path / "a.wav", seconds=0.25).read_bytes())
    pos = data.index(b"data")
    data[4:8] = data[pos + 4:pos + 8] = struct.pack("<I", 0xFFFFFFFF)
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(data))
    assert len(audio_io.decode_audio(str(path))) == 4000


# --- loading: Source -> Utterance --------------------------------------------------------------


def _source(**kw) -> contract.Source:
    base = dict(id="u1", dataset="test", emotion="sad", speaker="s1", gender="female",
                text=" hello ", audio_path=None, origin="fixture:1")
    base.update(kw)
    return contract.Source(**base)


def test_load_source_makes_a_contract_utterance(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=0.3, sr=48000, channels=2)
    u = load_source(_source(audio_path=str(path)), LABELS, require_text=True,
                    require_audio=True)
    assert (u.id, u.dataset, u.speaker, u.gender, u.emotion) == (
        "u1", "test", "s1", "female", "sad")
    assert u.label == 2 and u.text == "hello"
    assert u.duration_s == pytest.approx(0.3, abs=0.001)
    info = _wav_info(u.audio)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert info.frames == pytest.approx(4800, abs=2)


def test_text_only_source_has_no_audio():
    u = load_source(_source(), LABELS, require_text=True, require_audio=False)
    assert u.audio == b"" and u.duration_s == 0.0 and u.label == 2


@pytest.mark.parametrize("kw,require_text,require_audio,reason,needle", [
    (dict(emotion="bored"), False, False, contract.UNKNOWN_LABEL, "'neutral', 'happy'"),
    (dict(text="   "), True, False, contract.EMPTY_TEXT, "needs text"),
    (dict(), False, True, contract.MISSING_FILE, "needs audio"),
    (dict(audio_path="/nowhere/x.wav"), False, False, contract.MISSING_FILE, "/nowhere/x.wav"),
])
def test_load_source_refusals(kw, require_text, require_audio, reason, needle):
    with pytest.raises(contract.InvalidInput) as e:
        load_source(_source(**kw), LABELS, require_text, require_audio)
    assert e.value.reason == reason and needle in e.value.detail


def test_blank_text_is_fine_when_not_required():
    assert load_source(_source(text=""), LABELS, False, False).text == ""


def test_load_or_reject_quarantines_instead_of_raising(tmp_path):
    path = truncate(write_wav(tmp_path / "cut.wav", seconds=1.0))
    rejected = load_or_reject(_source(audio_path=str(path)), LABELS, False, True)
    assert isinstance(rejected, contract.Rejected)
    assert (rejected.id, rejected.reason, rejected.origin) == (
        "u1", contract.TRUNCATED_AUDIO, "fixture:1")
    assert "cut.wav" in rejected.detail
    ok = load_or_reject(_source(), LABELS, False, False)
    assert isinstance(ok, contract.Utterance)
