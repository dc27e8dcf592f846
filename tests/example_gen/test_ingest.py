"""Ingestion on Beam: every record is written or quarantined, and the report proves it."""

from __future__ import annotations

import csv
import glob
import os

import pytest
import tensorflow as tf

from components import artifacts
from components.example_gen import ingest, tf_example
from pipeline.configs import get_preset
from tests.conftest import shared_dataset
from tests.example_gen.conftest import truncate, write_wav


def _read_examples(out, split):
    files = glob.glob(os.path.join(out, f"Split-{split}", "*.gz"))
    ds = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf_example.from_example(tf.train.Example.FromString(r.numpy())) for r in ds]


def test_bad_records_are_quarantined_and_counted(tmp_path):
    data = tmp_path / "data"
    rows = []
    for i in range(10):
        write_wav(data / f"c{i}.wav", seconds=0.3, sr=48000 if i == 0 else 16000,
                  channels=2 if i == 0 else 1)
        rows.append((f"c{i}.wav", f"text {i}", "happy" if i % 2 else "sad", f"s{i % 3}"))
    truncate(write_wav(data / "trunc.wav", seconds=1.0))
    (data / "junk.wav").write_bytes(b"not audio")
    rows += [("trunc.wav", "t", "sad", "s1"), ("junk.wav", "j", "sad", "s1"),
             ("gone.wav", "g", "sad", "s1"), ("c1.wav", "u", "bored", "s1"),
             ("c2.wav", "", "happy", "s1")]
    with open(data / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "audio_path", "text", "emotion", "speaker"])
        for n, r in enumerate(rows):
            w.writerow([f"r{n}", *r])
    preset = get_preset("demo")  # requires text and audio, labels neutral/happy/sad/angry
    out = tmp_path / "out"
    report = ingest.run_ingest(preset, str(data), str(out))
    assert report.listed == 15
    assert report.written + report.quarantined == report.listed
    assert report.quarantine_by_reason == {
        "truncated_audio": 1, "unreadable_audio": 1, "missing_file": 1, "unknown_label": 1,
        "empty_text": 1}
    with open(out / artifacts.QUARANTINE_FILE) as f:
        quarantined = list(csv.DictReader(f))
    assert {q["id"] for q in quarantined} == {"r10", "r11", "r12", "r13", "r14"}
    assert all(q["detail"] for q in quarantined)
    written = _read_examples(out, "train") + _read_examples(out, "eval")
    assert len(written) == report.written == 10
    first = next(u for u in written if u.id == "r0")  # the 48 kHz stereo clip
    assert abs(first.duration_s - 0.3) < 0.01
    assert first.audio[:4] == b"RIFF"
    with open(out / artifacts.SPLITS_FILE) as f:
        assert len(list(csv.DictReader(f))) == 10


def test_nothing_valid_fails_with_a_clear_message(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"nope")
    (tmp_path / "manifest.csv").write_text(
        "id,audio_path,text,emotion,speaker\na,junk.wav,x,happy,s1\nb,junk.wav,y,sad,s2\n")
    with pytest.raises(ingest.NothingValidError, match="quarantine.csv"):
        ingest.run_ingest(get_preset("demo"), str(tmp_path), str(tmp_path / "out"))


def test_missing_data_root_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="--data-root"):
        ingest.run_ingest(get_preset("ravdess"), str(tmp_path / "nope"), str(tmp_path / "out"))


def test_real_ravdess_ingests_completely(tmp_path):
    root = shared_dataset("ravdess")
    report = ingest.run_ingest(get_preset("ravdess"), str(root), str(tmp_path / "out"))
    assert (report.listed, report.written, report.quarantined) == (1440, 1440, 0)
    assert report.by_split == {"train": 1152, "eval": 288}
