"""The ingestion probes of issue 13: one bad byte or row costs one record, never the ingest.

Each probe was a crash or a silent loss before: a NUL byte (`_csv.Error: line contains NUL`,
nothing written), a non-UTF-8 byte (`'utf-8' codec can't decode byte 0xe9`, no file or line
named), an all-bad manifest (a `NothingValidError` traceback) and a duplicate id (the kept
record written to train but missing from splits.csv).
"""

from __future__ import annotations

import csv
import glob
import json
import os
import subprocess
import sys
import types

import pytest
import tensorflow as tf

from components import artifacts
from components.core import contract, errors
from components.example_gen import ingest
from components.example_gen.readers import READERS
from pipeline import cli
from pipeline.configs import REPO_ROOT, get_preset
from tests.example_gen.conftest import split_rows, write_wav

HEADER = b"id,text,emotion,speaker\n"
GOOD = [b"g%d,good text %d,%s,s%d\n" % (i, i, b"happy" if i % 2 else b"sad", i % 3)
        for i in range(8)]
BAD = {
    "nul": b"n1,a NUL\x00 inside,happy,s1\n",
    "latin1": b"e1,caf\xe9 au lait,sad,s2\n",  # \xe9 is latin-1's é: not UTF-8
    "columns": b"c1,too,many,fields,here\n",
    "quote": b'q1,"a quote never closed,happy,s1\n',
}
DUPLICATE = b"g1,the same id again,sad,s1\n"


def _manifest(path, *rows: bytes) -> str:
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.csv").write_bytes(HEADER + b"".join(rows))
    return str(path / "manifest.csv")


def _csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _written_ids(out) -> list[str]:
    files = glob.glob(os.path.join(out, "Split-*", "*.gz"))
    ids = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        ids.append(example.features.feature[contract.ID].bytes_list.value[0].decode())
    return ids


@pytest.fixture(scope="module")
def bad_ingest(tmp_path_factory):
    """One Beam ingest of a manifest holding every bad row next to good ones (the quote last:
    an unclosed quote would otherwise swallow the rows after it into one field)."""
    root = tmp_path_factory.mktemp("bad")
    manifest = _manifest(root / "data", *GOOD[:4], BAD["nul"], BAD["latin1"], *GOOD[4:],
                         BAD["columns"], DUPLICATE, BAD["quote"])
    out = root / "out"
    report = ingest.run_ingest(get_preset("manifest"), manifest, str(out))
    return types.SimpleNamespace(report=report, out=out, manifest=manifest,
                                 quarantine=_csv(out / artifacts.QUARANTINE_FILE),
                                 splits=_csv(out / artifacts.SPLITS_FILE),
                                 written=_written_ids(out))


def test_bad_rows_cost_themselves_only(bad_ingest):
    r = bad_ingest.report
    assert (r.listed, r.written, r.quarantined) == (13, 8, 5)
    assert r.listed == r.written + r.quarantined
    assert r.quarantine_by_reason == {contract.BAD_ROW: 3, contract.BAD_ENCODING: 1,
                                      contract.DUPLICATE_ID: 1}
    assert sorted(bad_ingest.written) == [f"g{i}" for i in range(8)]


def test_a_nul_byte_quarantines_its_row_naming_the_line(bad_ingest):
    (nul,) = [q for q in bad_ingest.quarantine if "NUL" in q["detail"]]
    assert nul["reason"] == contract.BAD_ROW
    assert nul["origin"] == f"{bad_ingest.manifest}:row 5 (line 6)"
    assert "line 6" in nul["detail"]


def test_a_non_utf8_byte_names_the_file_line_byte_and_fix(bad_ingest):
    (bad,) = [q for q in bad_ingest.quarantine if q["reason"] == contract.BAD_ENCODING]
    assert bad["origin"] == f"{bad_ingest.manifest}:row 6 (line 7)"
    assert "line 7: byte 0xe9 at column 7 is not valid utf-8" in bad["detail"]
    assert "reader_options.encoding" in bad["detail"]


def test_wrong_field_count_and_unclosed_quote_are_bad_rows(bad_ingest):
    details = [q["detail"] for q in bad_ingest.quarantine if q["reason"] == contract.BAD_ROW]
    assert any("line 12 has 5 fields, the header has 4" in d for d in details)
    assert any("line 14 opens a quote that is never closed" in d for d in details)


def test_a_duplicate_id_is_recorded_in_splits_and_quarantine_alike(bad_ingest):
    (dup,) = [q for q in bad_ingest.quarantine if q["reason"] == contract.DUPLICATE_ID]
    kept_origin = f"{bad_ingest.manifest}:row 2 (line 3)"
    assert dup["id"] == "g1" and dup["origin"] == f"{bad_ingest.manifest}:row 12 (line 13)"
    assert kept_origin in dup["detail"] and "kept" in dup["detail"]
    split_rows_by_id = {row["id"]: row for row in bad_ingest.splits}
    # The kept record is written and listed in splits.csv, with the decision in its note.
    assert bad_ingest.written.count("g1") == 1 and "g1" in split_rows_by_id
    note = split_rows_by_id["g1"]["note"]
    assert kept_origin in note and dup["origin"] in note and contract.DUPLICATE_ID in note
    assert sorted(split_rows_by_id) == sorted(bad_ingest.written)
    assert {row["note"] for row in bad_ingest.splits if row["id"] != "g1"} == {""}


def test_encoding_option_reads_a_latin1_manifest(tmp_path):
    manifest = _manifest(tmp_path, BAD["latin1"], *GOOD[:3])
    preset = get_preset("manifest")
    listing = ingest.list_dataset(preset.replace(reader_options={"encoding": "latin-1"}),
                                  manifest)
    assert not listing.rejected
    assert {s.id: s.text for s in listing.sources}["e1"] == "café au lait"
    # UTF-8 (the default) quarantines that one row and keeps the rest.
    listing = ingest.list_dataset(preset, manifest)
    assert [r.id for r in listing.rejected] == ["row1"] and len(listing.sources) == 3


def test_utf16_and_bom_manifests(tmp_path):
    text = (HEADER + b"".join(GOOD[:3])).decode()
    (tmp_path / "manifest.csv").write_bytes(text.encode("utf-16"))
    preset = get_preset("manifest")
    listing = ingest.list_dataset(preset.replace(reader_options={"encoding": "utf-16"}),
                                  str(tmp_path))
    assert len(listing.sources) == 3 and not listing.rejected
    (tmp_path / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())  # Excel's BOM
    assert len(ingest.list_dataset(preset, str(tmp_path)).sources) == 3


def test_an_unknown_encoding_names_the_option(tmp_path):
    manifest = _manifest(tmp_path, *GOOD[:3])
    preset = get_preset("manifest").replace(reader_options={"encoding": "utf-9"})
    with pytest.raises(ValueError, match="reader_options.encoding 'utf-9'"):
        ingest.list_dataset(preset, manifest)


def test_jsonl_bad_lines_are_quarantined_one_by_one(tmp_path):
    lines = [json.dumps({"id": f"j{i}", "text": f"t{i}", "emotion": "sad"}).encode()
             for i in range(3)]
    lines += [b'{"id": "x1", "text": "broken', b'["not", "an object"]',
              b'{"id": "x2", "text": "t", "emotion": ["a", "list"]}',
              b'{"id": "x3", "audio_path": "a\\u0000b.wav", "emotion": "sad"}',
              b'{"id": "x4", "text": "lone \\ud800 surrogate", "emotion": "sad"}',
              b'{"id": "x5", "text": "caf\xe9", "emotion": "sad"}', b"\x00\x00"]
    (tmp_path / "manifest.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    ok, bad = split_rows(READERS["manifest"](tmp_path))
    assert [s.id for s in ok] == ["j0", "j1", "j2"]
    assert [r.reason for r in bad] == [contract.BAD_ROW] * 4 + [contract.BAD_ENCODING] * 2 + [
        contract.BAD_ROW]
    assert all(f"line {n}" in r.detail or f"line {n}" in r.origin
               for n, r in enumerate(bad, 4))


def test_undecodable_file_names_are_bad_encoding(tmp_path):
    folder = os.fsencode(tmp_path / "Actor_01")
    os.makedirs(folder)
    write_wav(tmp_path / "Actor_01" / "03-01-05-02-01-01-01.wav")
    bad_name = os.path.join(folder, b"03-01-05-02-01-01-01\xe9.wav")
    with open(bad_name, "wb") as f:
        f.write((tmp_path / "Actor_01" / "03-01-05-02-01-01-01.wav").read_bytes())
    ok, bad = split_rows(READERS["ravdess"](tmp_path))
    assert [s.id for s in ok] == ["03-01-05-02-01-01-01"]
    (r,) = bad
    assert r.reason == contract.BAD_ENCODING and "\\xe9" in r.id and "rename" in r.detail
    r.detail.encode("utf-8")  # printable and writable as it is


# --- the CLI: user errors are `mer: error: ...`, exit 2, no traceback ---------------------------


def _mer(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_an_all_bad_manifest_is_a_user_error_not_a_traceback(tmp_path):
    manifest = _manifest(tmp_path / "data", BAD["nul"], BAD["latin1"], BAD["columns"])
    done = _mer("ingest", "--preset", "manifest", "--data-root", manifest,
                "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines()[-1].startswith("mer: error: No usable records"), done.stderr
    assert "3 rejected while listing" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_mer_run_on_an_all_bad_manifest_exits_2_naming_the_component(tmp_path):
    """The real thing: ExampleGen raises inside TFX's LocalDagRunner, and `mer run` still ends
    with the message (the traceback goes to the run's log only)."""
    manifest = _manifest(tmp_path / "data", BAD["nul"], BAD["latin1"])
    done = _mer("run", "--preset", "manifest", "--data-root", manifest,
                "--output-dir", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("mer: error: EmotionExampleGen: No usable records under"), last
    assert "2 rejected while listing" in last
    assert "Traceback" not in done.stdout + done.stderr
    (log,) = (tmp_path / "out" / "runs").rglob("run.log")
    assert "NothingValidError" in log.read_text()


def test_verbose_shows_the_traceback(tmp_path, capsys):
    manifest = _manifest(tmp_path / "data", BAD["nul"])
    argv = ["ingest", "--preset", "manifest", "--data-root", manifest,
            "--out", str(tmp_path / "out")]
    assert cli.main(argv) == errors.USER_ERROR_EXIT
    assert "Traceback" not in capsys.readouterr().err
    assert cli.main([*argv, "-v"]) == errors.USER_ERROR_EXIT
    err = capsys.readouterr().err
    assert "Traceback" in err and "NothingValidError" in err and "mer: error:" in err


@pytest.mark.parametrize("problem", ["missing_root", "bad_option", "unreadable", "no_label"])
def test_other_user_errors_end_the_same_way(tmp_path, capsys, problem):
    manifest = _manifest(tmp_path / "data", *GOOD[:3])
    argv = ["ingest", "--preset", "manifest", "--data-root", manifest,
            "--out", str(tmp_path / "out")]
    expected = {"missing_root": "does not exist", "bad_option": "configuration: --set split.methdo",
                "unreadable": "Permission denied", "no_label": "no label column 'feeling'"}
    if problem == "missing_root":
        argv[4] = str(tmp_path / "nowhere")
    elif problem == "bad_option":
        argv += ["--set", "split.methdo=random"]
    elif problem == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode")
        os.chmod(manifest, 0)
    else:
        argv += ["--set", "reader_options.label_col=feeling"]
    assert cli.main(argv) == errors.USER_ERROR_EXIT
    err = capsys.readouterr().err
    assert err.startswith("mer: error:") and expected[problem] in err, err
    assert "Traceback" not in err


def test_a_run_stopped_by_bad_data_exits_2_with_the_message(tmp_path, monkeypatch, capsys):
    """What LocalDagRunner raises from inside ExampleGen (the component's own error) reaches
    `mer run` as `mer: error: <component>: <message>`, after the run's summary."""
    from pipeline import local_runner

    summary = types.SimpleNamespace(failed="EmotionExampleGen", lines=lambda: ["(summary)"])
    cause = ingest.NothingValidError("No usable records under /data for preset 'demo'")

    def fail(*args, **kwargs):
        raise local_runner.RunFailed(summary, cause)

    monkeypatch.setattr(local_runner, "run", fail)
    code = cli.main(["run", "--preset", "manifest", "--data-root", str(tmp_path),
                     "--output-dir", str(tmp_path / "out"), "-v"])
    assert code == errors.USER_ERROR_EXIT
    captured = capsys.readouterr()
    assert captured.err == f"mer: error: EmotionExampleGen: {cause}\n"
    assert "(summary)" in captured.out
