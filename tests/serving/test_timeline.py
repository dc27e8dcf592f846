"""Emotion timelines of whole recordings: the segmenter, `mer predict --timeline` as a user runs
it, and `POST /api/timeline`.

The fixture SER (tests/serving/conftest.py) answers by loudness: loud is angry, quiet is sad. A
synthetic recording alternates loud, quiet and silent stretches, so the timeline must put angry
and sad where they were recorded, skip the silence and count it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
import soundfile as sf

from components.core.segments import (
    SegmentLimitError,
    SegmentSettings,
    SegmentStream,
    UnreadableRecordingError,
    expected_windows,
)

# 20 s loud (angry), 20 s quiet (sad), 20 s silence, repeated: a 2-minute recording.
PATTERN = (0.9, 0.02, 0.0)
STRETCH_S = 20


def recording(path, minutes: float = 2.0, rate: int = 44_100, channels: int = 2,
              fmt: str = "FLAC") -> str:
    t = np.arange(int(minutes * 60 * rate)) / rate
    amp = np.asarray(PATTERN)[(t // STRETCH_S).astype(int) % len(PATTERN)]
    x = (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(str(path), np.stack([x] * channels, axis=1) if channels > 1 else x, rate,
             format=fmt)
    return str(path)


def expected_emotion(start_s: float, end_s: float) -> str:
    stretch = int(((start_s + end_s) / 2) // STRETCH_S) % len(PATTERN)
    return ("angry", "sad", None)[stretch]


@pytest.fixture(scope="module")
def two_minutes(tmp_path_factory) -> str:
    return recording(tmp_path_factory.mktemp("rec") / "call.flac")


def test_segments_skip_silence_and_count_it(two_minutes):
    stream = SegmentStream(two_minutes, SegmentSettings(window_s=3.0, block_s=2.5))
    segments = list(stream)
    # 120 s / 3 s = 40 windows. The silent stretches (40-60 s, 100-120 s) hold 6 whole windows
    # each; the windows that straddle sound and silence (39-42 s, 60-63 s, 99-102 s) hold at
    # least a third of sound, so they are kept.
    assert stream.stats.windows == 40
    assert stream.stats.silent + len(segments) == 40
    assert stream.stats.silent == 12
    assert not [s.start_s for s in segments
                if expected_emotion(s.start_s, s.start_s) is None
                and expected_emotion(s.end_s - 0.01, s.end_s - 0.01) is None]
    assert all(s.samples.size == 48_000 for s in segments)
    assert stream.stats.duration_s == pytest.approx(120.0)


def test_hop_overlaps_windows_and_tail_is_kept(tmp_path):
    settings = SegmentSettings(window_s=3.0, hop_s=1.5, min_tail_s=1.0)
    path = recording(tmp_path / "a.wav", minutes=0.2, rate=16_000, channels=1, fmt="WAV")
    spans = [(s.start_s, s.end_s) for s in SegmentStream(path, settings)]
    assert spans[:3] == [(0.0, 3.0), (1.5, 4.5), (3.0, 6.0)]
    assert spans[-1] == (9.0, 12.0) and len(spans) == 7 == expected_windows(12.0, settings)
    # 13.2 s: 1.2 s after the last full window (9-12 s) is uncovered, so a shorter last window
    path = recording(tmp_path / "b.wav", minutes=0.22, rate=16_000, channels=1, fmt="WAV")
    spans = [(s.start_s, s.end_s) for s in SegmentStream(path, settings)]
    assert spans[-1] == (10.5, 13.2) and len(spans) == 8 == expected_windows(13.2, settings)


def test_limits_refuse_before_decoding_with_the_fix(tmp_path, two_minutes):
    with pytest.raises(SegmentLimitError, match="limit is 60 s.*--max-duration"):
        SegmentStream(two_minutes, SegmentSettings(max_duration_s=60))
    with pytest.raises(SegmentLimitError, match="gives 40 windows.*limit is 10"):
        SegmentStream(two_minutes, SegmentSettings(max_segments=10))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(UnreadableRecordingError, match="could not decode"):
        SegmentStream(bad, SegmentSettings())


def run_mer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def test_cli_timeline_json_puts_emotions_where_they_were_recorded(model_repo, two_minutes):
    proc = run_mer("predict", "--model-dir", str(model_repo), "--audio", two_minutes,
                   "--timeline", "--no-asr", "--json", "--hop", "1.5")
    assert proc.returncode == 0, proc.stderr[-2000:]
    timeline = json.loads(proc.stdout)
    segments = timeline["segments"]
    assert timeline["duration_s"] == pytest.approx(120.0)
    assert timeline["silent_windows"] > 0
    wrong = [(s["start_s"], s["results"]["ser"][0]["emotion"]) for s in segments
             if expected_emotion(s["start_s"], s["end_s"]) not in
             (None, s["results"]["ser"][0]["emotion"])]
    # Windows straddling two stretches may go either way; the rest must match the recording.
    assert len(wrong) <= 4, wrong
    share = timeline["share"]["ser"]
    assert share["angry"] == pytest.approx(0.5, abs=0.08)
    assert share["sad"] == pytest.approx(0.5, abs=0.08)
    assert {m["emotion"] for m in timeline["strongest"]} == {"angry", "sad"}


def test_cli_timeline_table_from_one_model(model_repo, two_minutes):
    proc = run_mer("predict", "--model-dir", str(model_repo / "ser"), "--audio", two_minutes,
                   "--timeline")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "120.0 s, " in proc.stdout and "12 silent windows skipped" in proc.stdout
    assert "share of time (ser): " in proc.stdout and "strongest: ser angry" in proc.stdout


# ------------------------------------------------------------------------------------ web API


@pytest.fixture(scope="module")
def app(model_repo):
    from serving.app.schemas import Limits
    from serving.app.server import BackgroundServer
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient

    limits = Limits(max_request_bytes=64 * 1024, max_timeline_bytes=8 * 1024 * 1024,
                    max_timeline_s=600)
    with BackgroundServer(EmotionClient(InProcessBackend(str(model_repo))), limits=limits) as s:
        yield s


def post_timeline(server, fields: dict[str, str], audio: bytes | None):
    from tests.serving.test_web_api import request

    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             .encode() for k, v in fields.items()]
    if audio is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; '
                     f'filename="rec.flac"\r\nContent-Type: audio/flac\r\n\r\n'.encode()
                     + audio + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, _, data = request(server, "POST", "/api/timeline", body,
                              {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return status, json.loads(data)


def test_api_timeline_over_the_predict_body_limit(app, two_minutes):
    audio = open(two_minutes, "rb").read()
    assert len(audio) > 64 * 1024  # bigger than /api/predict accepts here
    status, body = post_timeline(app, {"top_k": "2"}, audio)
    assert status == 200, body
    assert body["duration_s"] == pytest.approx(120.0) and body["window_s"] == 3.0
    assert body["audio"]["source_sample_rate"] == 44_100
    first = body["segments"][0]
    assert first["start_s"] == 0.0 and first["results"]["ser"][0]["emotion"] == "angry"
    assert len(first["results"]["ser"]) == 2
    assert body["silent_windows"] >= 12
    assert set(body["summary"]["share"]["ser"]) == {"angry", "sad"}


def test_api_timeline_refusals_are_clear(app, two_minutes, tmp_path):
    status, body = post_timeline(app, {}, None)
    assert (status, body["error"]["code"]) == (400, "missing_audio")
    status, body = post_timeline(app, {}, b"definitely not audio")
    assert (status, body["error"]["code"]) == (400, "invalid_audio")
    assert "/tmp" not in body["error"]["message"]  # no server path in a reply
    long = recording(tmp_path / "long.flac", minutes=11, rate=8000, channels=1)
    status, body = post_timeline(app, {}, open(long, "rb").read())
    assert (status, body["error"]["code"]) == (422, "timeline_too_long"), body
    assert "the limit is 600 s" in body["error"]["message"]
    status, body = post_timeline(app, {"hop_s": "9"}, open(two_minutes, "rb").read())
    assert status == 400 and "hop_s" in body["error"]["message"]


def test_openapi_documents_the_timeline_upload(app):
    from tests.serving.test_web_api import request

    _, _, data = request(app, "GET", "/openapi.json")
    doc = json.loads(data)
    post = doc["paths"]["/api/timeline"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    assert form.endswith("/TimelineForm")
    assert doc["components"]["schemas"]["TimelineForm"]["properties"]["audio"]["format"] \
        == "binary"
    assert "TimelineResponse" in json.dumps(post["responses"]["200"])
