"""Every reader fuzzed: random bytes in text fields and file names, random truncations.

What must hold whatever the bytes: no exception escapes ingestion (a whole-file problem, such
as a header cut in half or a pickle that does not load, is one user error naming the file, as
`mer: error:` shows it), and every record listed is written or quarantined with a reason. Each
example runs the whole ingestion short of Beam (list, check, split, decode, serialize, report)
so a string that no tf.Example or report can hold would fail here. Example counts are bounded so
the module takes seconds; the real-file cases run on ../shared/datasets when present.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.core import contract, errors
from components.example_gen import ingest
from components.example_gen.loading import load_or_reject
from components.example_gen.tf_example import to_example
from pipeline.configs import SHARED_DATASETS, get_preset
from tests.example_gen.conftest import (
    GOEMOTIONS_LABELS,
    cremad_tree,
    goemotions_tree,
    iemocap_tree,
    meld_csv,
    psychexp_pickle,
    ravdess_tree,
    write_wav,
)

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
# Bytes that matter to a text reader are over-represented: separators, quotes, line ends, NUL,
# a BOM, bytes that are not UTF-8 and multi-byte sequences cut in half.
SPECIAL = [b",", b"\t", b'"', b"\n", b"\r", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xe9", b"\xff",
           b"\xc3", b"\xe2\x82", b"[", b"]", b":", b"{", b"}", b"\\", b"-", b"_"]
junk = st.lists(st.one_of(st.sampled_from(SPECIAL), st.binary(max_size=6)), max_size=12).map(
    b"".join)
name_junk = junk.map(lambda b: b.replace(b"/", b"").replace(b"\x00", b"")[:120])


def ingest_outcome(preset, root) -> Optional[ingest.IngestSummary]:
    """Ingestion without Beam; None when it stops at a user error (which must be one)."""
    try:
        listing = ingest.list_dataset(preset, str(root))
    except errors.MerError as e:  # one clear message, the CLI's `mer: error:`
        assert str(e).strip()
        return None
    counts: collections.Counter = collections.Counter()
    rejected = []
    for source in listing.sources:
        result = load_or_reject(source, listing.labels, preset.require_text, preset.require_audio)
        if isinstance(result, contract.Rejected):
            rejected.append(result)
            continue
        to_example(result).SerializeToString()
        counts[(listing.split_of.get(source.id, ""), result.emotion)] += 1
    with tempfile.TemporaryDirectory() as report_dir:
        report = ingest.write_report(report_dir, preset, str(root), listing, counts.items(),
                                     rejected)
        for name in os.listdir(report_dir):  # the report files read back as UTF-8
            Path(report_dir, name).read_text(encoding="utf-8")
    assert report.listed == report.written + report.quarantined
    assert report.listed == len(listing.sources) + len(listing.rejected)
    assert set(report.quarantine_by_reason) <= set(contract.REASONS)
    return report


def written_ids(preset, root) -> set[str]:
    listing = ingest.list_dataset(preset, str(root))
    return {s.id for s in listing.sources
            if isinstance(load_or_reject(s, listing.labels, preset.require_text,
                                         preset.require_audio), contract.Utterance)}


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-"))


# --- random bytes in text fields ---------------------------------------------------------------

GOOD_ROWS = [f"g{i},good text {i},{'happy' if i % 2 else 'sad'},s{i % 3}".encode()
             for i in range(8)]


@FUZZ
@given(field=st.sampled_from([0, 1, 2, 3]), data=junk, at=st.integers(0, 8))
def test_manifest_csv_survives_random_bytes_in_a_field(field, data, at):
    root = _tmp()
    try:
        row = [b"x1", b"some text", b"happy", b"s1"]
        row[field] = data
        rows = GOOD_ROWS[:at] + [b",".join(row)] + GOOD_ROWS[at:]
        (root / "manifest.csv").write_bytes(b"id,text,emotion,speaker\n" + b"\n".join(rows)
                                            + b"\n")
        preset = get_preset("manifest")
        report = ingest_outcome(preset, root)
        assert report is not None
        # The good rows go on, whatever the bad one holds (an id it shares is kept once).
        assert {f"g{i}" for i in range(8)} <= written_ids(preset, root)
    finally:
        shutil.rmtree(root)


@FUZZ
@given(key=st.sampled_from(["id", "text", "emotion", "speaker", "audio_path"]),
       data=st.one_of(junk.map(lambda b: b.decode("latin-1")), st.text(max_size=12),
                      st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
       raw=junk)
def test_manifest_jsonl_survives_random_values_and_bytes(key, data, raw):
    root = _tmp()
    try:
        good = [json.dumps({"id": f"g{i}", "text": f"t{i}", "emotion": "sad"}).encode()
                for i in range(4)]
        bad = json.dumps({"id": "x1", "text": "t", "emotion": "happy", key: data}).encode()
        (root / "manifest.jsonl").write_bytes(b"\n".join([*good[:2], bad, raw, *good[2:]]))
        preset = get_preset("manifest")
        assert ingest_outcome(preset, root) is not None
        assert {f"g{i}" for i in range(4)} <= written_ids(preset, root)
    finally:
        shutil.rmtree(root)


def _insert(path: Path, line: int, data: bytes) -> None:
    """Puts `data` into line `line` (mod the line count) of `path`, at a random column."""
    lines = path.read_bytes().split(b"\n")
    n = line % len(lines)
    col = random.Random(line).randint(0, len(lines[n]))
    lines[n] = lines[n][:col] + data + lines[n][col:]
    path.write_bytes(b"\n".join(lines))


@FUZZ
@given(which=st.sampled_from(["eval", "transcript"]), line=st.integers(0, 20), data=junk)
def test_iemocap_survives_random_bytes_in_its_text_files(which, line, data):
    root = _tmp()
    try:
        iemocap_tree(root)
        folder = "EmoEvaluation" if which == "eval" else "transcriptions"
        _insert(root / "Session1" / "dialog" / folder / "Ses01F_impro01.txt", line, data)
        assert ingest_outcome(get_preset("iemocap"), root) is not None
    finally:
        shutil.rmtree(root)


@FUZZ
@given(line=st.integers(0, 5), data=junk)
def test_goemotions_survives_random_bytes_in_a_tsv(line, data):
    root = _tmp()
    try:
        rows = [f"text {i}\t{i % 28}\tid{i}" for i in range(6)]
        goemotions_tree(root, {"train": rows, "test": [f"t\t{GOEMOTIONS_LABELS.index('joy')}\tt0",
                                                      "u\t25\tt1"]})
        _insert(root / "original" / "train.tsv", line, data)
        assert ingest_outcome(get_preset("goemotions"), root) is not None
    finally:
        shutil.rmtree(root)


@FUZZ
@given(line=st.integers(1, 6), data=junk, split=st.sampled_from(["train", "test"]))
def test_meld_survives_random_bytes_in_a_csv(line, data, split):
    root = _tmp()
    try:
        for name in ("train", "test"):
            meld_csv(root / f"{name}_sent_emo.csv", [
                f'{i},"Hi, {i}",Ross,{"joy" if i % 2 else "neutral"},positive,{i},0,1,1,a,b'
                for i in range(1, 6)])
        _insert(root / f"{split}_sent_emo.csv", line, data)
        assert ingest_outcome(get_preset("meld"), root) is not None
    finally:
        shutil.rmtree(root)


@FUZZ
@given(line=st.integers(1, 8), data=junk)
def test_psychexp_csv_survives_random_bytes(line, data):
    root = _tmp()
    try:
        rows = "".join(f"text {i},{['joy', 'fear', 'anger'][i % 3]}\n" for i in range(8))
        (root / "psychexp.csv").write_text("text,label\n" + rows)
        _insert(root / "psychexp.csv", line, data)
        assert ingest_outcome(get_preset("psychexp"), root) is not None
    finally:
        shutil.rmtree(root)


# --- random bytes in file names ----------------------------------------------------------------

VALID_NAMES = {
    "ravdess": ["03-01-05-02-01-01-01.wav", "03-01-03-01-02-01-02.wav",
                "03-01-04-01-01-01-01.wav", "03-01-01-01-02-01-02.wav"],
    "cremad": ["1001_DFA_ANG_XX.wav", "1002_IEO_HAP_HI.wav", "1001_TIE_SAD_LO.wav",
               "1002_DFA_NEU_XX.wav"],
    "tess": ["OAF_back_angry.wav", "YAF_dog_sad.wav", "OAF_bite_happy.wav", "YAF_cat_ps.wav"],
}


@FUZZ
@given(reader=st.sampled_from(sorted(VALID_NAMES)), prefix=name_junk, suffix=name_junk,
       ext=st.sampled_from([b".wav", b".WAV", b".flac", b""]))
def test_audio_readers_survive_random_bytes_in_file_names(reader, prefix, suffix, ext):
    root = _tmp()
    try:
        if reader == "ravdess":
            ravdess_tree(root, VALID_NAMES[reader])
        elif reader == "cremad":
            cremad_tree(root, VALID_NAMES[reader])
        else:
            for name in VALID_NAMES[reader]:
                write_wav(root / name, seconds=0.2)
        folder = next(p for p in root.rglob("*.wav")).parent
        name = prefix + os.fsencode(VALID_NAMES[reader][0]).rsplit(b".", 1)[0] + suffix + ext
        target = os.path.join(os.fsencode(folder), name)
        if name not in (b"", b".", b"..") and not os.path.exists(target):
            with open(target, "wb") as f:
                f.write(b"RIFF\x00\x00" + prefix)  # whatever its name, its bytes are no WAV
        preset = get_preset(reader)
        assert ingest_outcome(preset, root) is not None
        # A junk file with a valid file's id (`X.WAV` beside `X.wav`) is a duplicate_id, and
        # the first listed is kept: only that id may go unwritten.
        same_id = {Path(os.fsdecode(name)).stem}
        assert {Path(n).stem for n in VALID_NAMES[reader]} - same_id <= written_ids(preset, root)
    finally:
        shutil.rmtree(root)


@FUZZ
@given(name=name_junk)
def test_manifest_audio_paths_with_random_bytes(name):
    root = _tmp()
    try:
        for i in range(4):
            write_wav(root / f"c{i}.wav", seconds=0.2)
        target = os.path.join(os.fsencode(root), name)
        if name not in (b"", b".", b"..") and not os.path.exists(target):
            with open(target, "wb") as f:
                f.write(b"not audio")
        rows = b"".join(b"c%d,c%d.wav,text,%s,s%d\n" % (i, i, b"sad" if i % 2 else b"happy", i)
                        for i in range(4))
        quoted = b'"' + name.replace(b'"', b'""') + b'"'
        (root / "manifest.csv").write_bytes(b"id,audio_path,text,emotion,speaker\n" + rows
                                            + b"x1," + quoted + b",text,sad,s1\n")
        preset = get_preset("demo")
        assert ingest_outcome(preset, root) is not None
        assert {f"c{i}" for i in range(4)} <= written_ids(preset, root)
    finally:
        shutil.rmtree(root)


# --- random truncations ------------------------------------------------------------------------


def _fixture_tree(reader: str, root: Path) -> list[Path]:
    """A small tree in `reader`'s layout; returns the files a truncation may hit."""
    if reader == "iemocap":
        iemocap_tree(root)
    elif reader == "goemotions":
        goemotions_tree(root, {"train": [f"text {i}\t{i % 28}\tid{i}" for i in range(6)],
                               "test": ["t\t17\tt0", "u\t25\tt1"]})
    elif reader == "meld":
        for name in ("train", "test"):
            meld_csv(root / f"{name}_sent_emo.csv", [
                f"{i},Hi {i},Ross,{'joy' if i % 2 else 'neutral'},positive,{i},0,1,1,a,b"
                for i in range(1, 6)])
    elif reader == "psychexp":
        psychexp_pickle(root / "raw.pickle", [f"text {i}" for i in range(6)],
                        [[1, 0, 0, 0, 0, 0, 0] if i % 2 else [0, 1, 0, 0, 0, 0, 0]
                         for i in range(6)])
    elif reader == "manifest":
        for i in range(4):
            write_wav(root / f"c{i}.wav", seconds=0.2)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "audio_path", "text", "emotion", "speaker"])
        w.writerows([f"c{i}", f"c{i}.wav", f"a, \"quoted\"\ntext {i}",
                     "sad" if i % 2 else "happy", f"s{i}"] for i in range(4))
        (root / "manifest.csv").write_text(buf.getvalue())
    else:
        ravdess_tree(root, VALID_NAMES["ravdess"]) if reader == "ravdess" else (
            cremad_tree(root, VALID_NAMES["cremad"]))
    return sorted(p for p in root.rglob("*") if p.is_file())


PRESET_OF = {"manifest": "demo"}


@FUZZ
@given(reader=st.sampled_from(["iemocap", "goemotions", "meld", "psychexp", "manifest",
                               "ravdess", "cremad"]),
       pick=st.integers(0, 1000), keep=st.floats(0, 1))
def test_every_reader_survives_a_truncated_file(reader, pick, keep):
    root = _tmp()
    try:
        files = _fixture_tree(reader, root)
        path = files[pick % len(files)]
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * keep)])
        ingest_outcome(get_preset(PRESET_OF.get(reader, reader)), root)
    finally:
        shutil.rmtree(root)


# Real files (../shared/datasets): the reader's own layout, one file cut at a random byte. Large
# files are read up to their first 64 KiB (whole lines where not the one cut) so an example
# stays fast.
REAL = {
    "goemotions": ("goemotions/original", ["train.tsv", "emotions.txt"]),
    "psychexp": ("psychexp", ["psychexp.csv", "raw.pickle"]),
    "cremad": ("cremad_sample", ["metadata/VideoDemographics.csv", "audio/1001_DFA_ANG_XX.flac"]),
    "ravdess": ("ravdess", [f"Actor_17/03-01-01-01-{s}-{r}-17.flac"
                            for s in ("01", "02") for r in ("01", "02")]),
}
REAL_LIMIT = 64 * 1024


def _real_copy(reader: str, root: Path, target: str, keep: float) -> None:
    """A copy of the real files the reader needs, with `target` truncated."""
    folder, names = REAL[reader]
    src = SHARED_DATASETS / folder
    for name in names:
        if name == "raw.pickle" and target != name:
            continue  # the CSV is what is read when no pickle is there
        dst = root / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        with open(src / name, "rb") as f:
            data = f.read(REAL_LIMIT)
        if name == target:
            data = data[:int(len(data) * keep)]
        elif len(data) == REAL_LIMIT and not name.endswith(".pickle"):
            data = data[:data.rfind(b"\n") + 1]  # whole lines of a large file, kept intact
        dst.write_bytes(data)
    if reader == "goemotions":  # a test split for the predefined split method
        (root / "test.tsv").write_text("a test comment\t17\tt0\nanother\t25\tt1\n")


@pytest.mark.parametrize("reader", sorted(REAL))
def test_real_files_truncated_at_random(reader):
    if not (SHARED_DATASETS / REAL[reader][0]).exists():
        pytest.skip(f"real dataset {REAL[reader][0]!r} not found under {SHARED_DATASETS}")

    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(target=st.sampled_from(REAL[reader][1]), keep=st.floats(0, 1))
    def check(target, keep):
        root = _tmp()
        try:
            _real_copy(reader, root, target, keep)
            ingest_outcome(get_preset(reader), root)
        finally:
            shutil.rmtree(root)

    check()
