"""Record ids and labels as ingestion takes them (issue 18, items 6 and 7).

Ids: two different files that share a name are two records; the same file listed twice is one
(duplicate_id). Labels: `HAPPY`, `happy` and ` happy ` are one class; a label outside a fixed
set is quarantined naming the set; inferred classes are reported with counts and a class too
small to split is warned about. Listing only (no Beam, no decoding): milliseconds per test.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path

import pytest

from components.core import contract
from components.core.config import ConfigError
from components.example_gen import ingest
from components.example_gen.loading import load_or_reject
from components.example_gen.readers import ravdess
from pipeline.configs import get_preset
from tests.conftest import shared_dataset
from tests.example_gen.conftest import write_wav


def _manifest(root: Path, rows: list[tuple[str, str]]) -> Path:
    """A manifest without an id column: (audio path, label) rows; each named file is written."""
    for audio, _ in rows:
        path = root / audio
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_wav(path)
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["audio_path", "emotion"])
        w.writerows(rows)
    return root


def test_files_sharing_a_name_in_different_folders_are_both_kept(tmp_path):
    rows = [("sub1/dup.wav", "happy"), ("sub2/dup.wav", "sad")]
    rows += [(f"c{i}.wav", ("happy", "sad")[i % 2]) for i in range(8)]
    listing = ingest.list_dataset(get_preset("manifest"), str(_manifest(tmp_path, rows)))
    ids = {s.id for s in listing.sources}
    assert {"sub1/dup.wav", "sub2/dup.wav"} <= ids
    assert not listing.rejected
    assert {s.id: s.emotion for s in listing.sources}["sub2/dup.wav"] == "sad"


def test_the_same_file_listed_twice_is_still_a_duplicate(tmp_path):
    rows = [("sub1/a.wav", "happy"), ("./sub1/a.wav", "sad"), ("sub1/../sub1/a.wav", "sad")]
    rows += [(f"c{i}.wav", ("happy", "sad")[i % 2]) for i in range(8)]
    listing = ingest.list_dataset(get_preset("manifest"), str(_manifest(tmp_path, rows)))
    dupes = [r for r in listing.rejected if r.reason == contract.DUPLICATE_ID]
    assert [r.id for r in dupes] == ["sub1/a.wav", "sub1/a.wav"]
    assert "row 1" in dupes[0].detail  # names the record that is kept


def test_labels_are_normalised_before_they_become_classes(tmp_path):
    labels = ["HAPPY", "happy", " Happy ", "sad", "SAD\t", "Sad"]
    rows = [(f"c{i}.wav", labels[i % 6]) for i in range(12)]
    listing = ingest.list_dataset(get_preset("manifest"), str(_manifest(tmp_path, rows)))
    assert listing.labels == ("happy", "sad")
    assert listing.classes == {"happy": 6, "sad": 6}
    assert not listing.warnings


def test_a_label_outside_a_fixed_set_is_quarantined_naming_the_set(tmp_path):
    preset = get_preset("demo")
    rows = [(f"c{i}.wav", ("Happy", "bored")[i % 2]) for i in range(10)]
    listing = ingest.list_dataset(preset, str(_manifest(tmp_path, rows)))
    bored = next(s for s in listing.sources if s.emotion == "bored")
    rejected = load_or_reject(bored, listing.labels, require_text=False, require_audio=False)
    assert rejected.reason == contract.UNKNOWN_LABEL
    for allowed in preset.labels:
        assert repr(allowed) in rejected.detail
    happy = next(s for s in listing.sources if s.emotion == "happy")  # "Happy" is in the set
    assert not isinstance(load_or_reject(happy, listing.labels, False, False), contract.Rejected)


def test_inferred_classes_are_counted_and_a_class_too_small_to_split_is_warned(tmp_path):
    rows = [(f"c{i}.wav", ("happy", "sad")[i % 2]) for i in range(20)] + [("b.wav", "bored")]
    listing = ingest.list_dataset(get_preset("manifest"), str(_manifest(tmp_path, rows)))
    assert listing.classes == {"bored": 1, "happy": 10, "sad": 10}
    assert len(listing.warnings) == 1 and "'bored' has 1 record" in listing.warnings[0]
    report = ingest.write_report(str(tmp_path / "report"), get_preset("manifest"),
                                 str(tmp_path), listing, [], [])
    lines = "\n".join(report.summary_lines())
    assert "classes inferred from the data" in lines and "bored=1" in lines
    assert "warning: class 'bored'" in lines


def test_a_preset_label_set_must_already_be_normalised():
    with pytest.raises(ConfigError, match="lower case"):
        get_preset("demo").replace(labels=("Happy", "sad"))


def test_real_ravdess_ids_are_unique_and_a_copied_clip_is_a_duplicate(tmp_path):
    """The 1440 RAVDESS clips keep their canonical ids (the file stem, which encodes the actor,
    so the speaker split and published splits that name clips still apply); a clip copied into
    a second folder is the same recording and is caught."""
    root = shared_dataset("ravdess")
    listing = ingest.list_dataset(get_preset("ravdess"), str(root))
    ids = [s.id for s in listing.sources]
    assert len(ids) == len(set(ids)) == 1440
    assert all(s.id == Path(s.audio_path).stem for s in listing.sources)
    actor = tmp_path / "Actor_01"
    shutil.copytree(root / "Actor_01", actor)
    copy = tmp_path / "copies" / "Actor_01"
    copy.mkdir(parents=True)
    first = sorted(actor.iterdir())[0]
    shutil.copy(first, copy / first.name)
    assert len(list(ravdess.read(tmp_path))) == 61
    preset = get_preset("ravdess")
    preset = preset.replace(split=dataclasses.replace(preset.split, method="random"))
    listing = ingest.list_dataset(preset, str(tmp_path))
    assert [r.id for r in listing.rejected if r.reason == contract.DUPLICATE_ID] == [first.stem]
