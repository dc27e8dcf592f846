"""`mer infer` as a user runs it: a pushed SER model over a dataset on Beam's DirectRunner.

The model is the serving tests' fixture SER (loud is angry, quiet is sad; tests/serving/
conftest.py), the data a small generated demo corpus plus rows a real dataset has: a missing
file, a cut-short WAV, a duplicate id. Every listed row must be scored or quarantined, and each
clip's top emotion must equal what `mer predict`'s code path answers for the same file.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.serving.conftest import build_model


@pytest.fixture(scope="module")
def ser_model(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("models") / "ser"
    build_model(base / "3", "ser")
    return str(base)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    from pipeline.demo_corpus import generate
    from pipeline.demo_corpus.config import DemoCorpusConfig

    root = generate(tmp_path_factory.mktemp("demo"),
                    DemoCorpusConfig(n_speakers=2, utterances_per_class_per_speaker=2))
    audio = root / "audio"
    cut = audio / "cut.wav"
    cut.write_bytes((audio / "spk00" / "spk00_sad_000.wav").read_bytes()[:3000])
    with open(root / "manifest.csv", "a", encoding="utf-8") as f:
        f.write("gone,audio/nowhere.wav,hello,happy,spk09,F\n")
        f.write("cut,audio/cut.wav,hello,sad,spk09,F\n")
        f.write("spk00_sad_000,audio/spk00/spk00_sad_001.wav,again,sad,spk00,F\n")
    return str(root)


def run_mer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, timeout=600)


def test_infer_scores_every_clip_as_predict_does_and_quarantines_the_rest(
        ser_model, corpus, tmp_path):
    out = tmp_path / "out"
    proc = run_mer("infer", "--model-dir", ser_model, "--data-root", corpus, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "model version 3 (neutral, happy, sad, angry)" in proc.stdout
    assert re.search(r"listed\s+19\n", proc.stdout), proc.stdout  # 16 clips + 3 bad rows
    assert re.search(r"recordings scored\s+16\n", proc.stdout)

    with open(glob.glob(str(out / "predictions-*.csv"))[0], encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["id"])
    table = pq.read_table(glob.glob(str(out / "predictions-*.parquet"))).to_pylist()
    assert len(rows) == len(table) == 16
    assert sorted(r["id"] for r in table) == [r["id"] for r in rows]
    assert {r["model_version"] for r in rows} == {"3"}
    assert set(rows[0]) >= {"id", "path", "segment", "top_emotion", "p_neutral", "p_angry"}

    from serving.audio import file_to_wav16k
    from serving.backends.inprocess import InProcessModel

    model = InProcessModel(ser_model)  # what `mer predict --model-dir ... --audio` calls
    for row in rows:
        expected = model.predict(audio=file_to_wav16k(row["path"]), top_k=1)[0]
        assert row["top_emotion"] == expected.emotion, row["id"]
        assert float(row[f"p_{expected.emotion}"]) == pytest.approx(expected.probability,
                                                                    abs=1e-5)

    with open(out / "quarantine.csv", encoding="utf-8") as f:
        reasons = {r["id"]: r["reason"] for r in csv.DictReader(f)}
    assert reasons == {"gone": "missing_file", "cut": "truncated_audio",
                       "spk00_sad_000": "duplicate_id"}
    with open(out / "summary.csv", encoding="utf-8") as f:
        summary = dict(csv.reader(f))
    assert summary["quarantined: missing_file"] == "1"
    assert summary["recordings scored"] == "16"


@pytest.mark.slow
def test_infer_timeline_gives_one_row_per_voiced_segment(ser_model, tmp_path):
    from tests.serving.test_timeline import recording

    data = tmp_path / "calls"
    data.mkdir()
    recording(data / "call.flac", minutes=1.0)  # loud 20 s, quiet 20 s, silent 20 s
    (data / "manifest.csv").write_text("id,audio_path,emotion\ncall,call.flac,\n")
    out = tmp_path / "out"
    proc = run_mer("infer", "--model-dir", ser_model, "--data-root", str(data), "--out",
                   str(out), "--timeline", "--window", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = pq.read_table(glob.glob(str(out / "predictions-*.parquet"))).to_pylist()
    rows.sort(key=lambda r: r["start_s"])
    assert len(rows) == 14  # 20 windows, 6 silent
    assert [r["top_emotion"] for r in rows[:6]] == ["angry"] * 6
    assert rows[-1]["top_emotion"] == "sad" and rows[-1]["end_s"] <= 42.0
    assert re.search(r"silent windows skipped\s+6\n", proc.stdout), proc.stdout
    assert os.path.exists(out / "summary.csv")
