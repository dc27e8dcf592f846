"""Bad input at ingestion: every fault tried, its outcome, and the records lost (0).

Why: one bad byte used to kill a whole ingest (a NUL: `_csv.Error: line contains NUL`, nothing
written; a `\\xe9`: `'utf-8' codec can't decode byte 0xe9`, no file or row named), an all-bad
manifest ended in a traceback, and a duplicate id's kept record was missing from splits.csv.
This script builds manifests holding each fault beside good rows, ingests them with the
project's own ingestion (Beam, as `mer ingest`), and prints what became of every row, so the
figures in docs/reliability.md (Bad input at ingestion) are the ones a user reproduces with:

    python benchmarks/bad_input.py [--out DIR]

It ends with the headline figures, one per line as `key: value`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import soundfile as sf

from components import artifacts
from components.core.contract import SAMPLE_RATE
from components.example_gen import ingest
from pipeline.configs import REPO_ROOT, get_preset

GOOD = 10  # good rows in each manifest


def _wav(path: Path, seconds: float = 0.3) -> Path:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), SAMPLE_RATE, subtype="PCM_16")
    return path


def _good_rows() -> list[bytes]:
    return [b"g%d,g%d.wav,good text %d,%s,s%d" % (i, i, i, b"happy" if i % 2 else b"sad", i % 4)
            for i in range(GOOD)]


# (case, the row's bytes): each a fault a user's manifest has been seen to hold.
CSV_FAULTS = [
    ("NUL byte in a field", b"f_nul,g0.wav,a NUL\x00 here,sad,s1"),
    ("non-UTF-8 byte (latin-1 \\xe9)", b"f_latin1,g0.wav,caf\xe9,sad,s1"),
    ("UTF-8 sequence cut in half", b"f_cut,g0.wav,caf\xc3,sad,s1"),
    ("too many fields", b"f_fields,g0.wav,text,sad,s1,extra"),
    ("too few fields", b"f_few,g0.wav,sad"),
    ("empty label", b"f_nolabel,g0.wav,text,,s1"),
    ("neither audio nor text", b"f_nothing,,,sad,s1"),
    ("duplicate id (g3 again)", b"g3,g0.wav,the same id again,happy,s1"),
    ("missing audio file", b"f_missing,gone.wav,text,sad,s1"),
    ("truncated WAV", b"f_trunc,trunc.wav,text,sad,s1"),
    ("0-byte WAV", b"f_empty,empty.wav,text,sad,s1"),
    ("text saved as .wav", b"f_text,text.wav,text,sad,s1"),
    ("/etc/passwd as audio", b"f_passwd,/etc/passwd,text,sad,s1"),
    ("quote never closed (last line)", b'f_quote,g0.wav,"an open quote,sad,s1'),
]
JSONL_FAULTS = [
    ("invalid JSON", b'{"id": "j_broken", "text": "no end'),
    ("a line that is not an object", b'["a", "list"]'),
    ("a list as the label", b'{"id": "j_list", "text": "t", "emotion": ["sad"]}'),
    ("\\u0000 in the audio path", b'{"id": "j_nul", "audio_path": "g0\\u0000.wav", '
                                  b'"emotion": "sad"}'),
    ("lone surrogate \\ud800", b'{"id": "j_sur", "text": "x \\ud800", "emotion": "sad"}'),
    ("non-UTF-8 byte", b'{"id": "j_latin1", "text": "caf\xe9", "emotion": "sad"}'),
    ("NUL byte", b'{"id": "j_nulbyte", "text": "a\x00b", "emotion": "sad"}'),
    ("duplicate id (g2 again)", b'{"id": "g2", "text": "again", "emotion": "sad"}'),
]


def build(root: Path) -> tuple[Path, Path, Path]:
    """The CSV and JSONL manifests (faults among good rows) and an all-bad one."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(GOOD):
        _wav(root / f"g{i}.wav")
    trunc = _wav(root / "trunc.wav", 1.0)
    trunc.write_bytes(trunc.read_bytes()[:200])
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is not audio\n")
    good = _good_rows()
    rows = good[:5] + [r for _, r in CSV_FAULTS[:-1]] + good[5:] + [CSV_FAULTS[-1][1]]
    manifest_csv = root / "manifest.csv"
    manifest_csv.write_bytes(b"id,audio_path,text,emotion,speaker\n" + b"\n".join(rows) + b"\n")
    lines = [json.dumps(dict(zip(("id", "audio_path", "text", "emotion", "speaker"),
                                 r.decode().split(","), strict=True))).encode() for r in good]
    lines = lines[:5] + [r for _, r in JSONL_FAULTS] + lines[5:]
    manifest_jsonl = root / "manifest.jsonl"
    manifest_jsonl.write_bytes(b"\n".join(lines) + b"\n")
    all_bad = root / "all_bad" / "manifest.csv"
    all_bad.parent.mkdir()
    all_bad.write_bytes(b"id,audio_path,text,emotion,speaker\n"
                        + b"\n".join(r for _, r in CSV_FAULTS[:3]) + b"\n")
    return manifest_csv, manifest_jsonl, all_bad


def _outcomes(out: Path) -> dict[str, list[tuple[str, str, str]]]:
    """id -> [(where, reason or split, detail)] from quarantine.csv and splits.csv."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    with open(out / artifacts.QUARANTINE_FILE, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found.setdefault(r["id"], []).append((r["origin"], r["reason"], r["detail"]))
    with open(out / artifacts.SPLITS_FILE, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found.setdefault(r["id"], []).append(("splits.csv", f"written ({r['split']})",
                                                  r["note"]))
    return found


def ingest_one(manifest: Path, faults: Sequence[tuple[str, bytes]], out: Path) -> dict:
    report = ingest.run_ingest(get_preset("manifest"), str(manifest), str(out))
    found = _outcomes(out)
    print(f"\n{manifest.name}: {report.listed} listed, {report.written} written, "
          f"{report.quarantined} quarantined ({report.quarantine_by_reason})")
    print(f"  {'case':36s} {'outcome':28s} detail")
    by_origin = {where: (reason, detail) for rows in found.values()
                 for where, reason, detail in rows}
    for line, case in _fault_lines(manifest, faults):
        reason, detail = next(((r, d) for w, (r, d) in by_origin.items()
                               if w.endswith(f"(line {line})")), ("not quarantined", ""))
        print(f"  {case:36s} {reason:28s} {detail[:90]}")
    good_written = sum(any(w == "splits.csv" for w, _, _ in found.get(f"g{i}", []))
                       for i in range(GOOD))
    print(f"  good rows written: {good_written}/{GOOD}")
    return {"listed": report.listed, "written": report.written,
            "quarantined": report.quarantined, "good_written": good_written}


def _fault_lines(manifest: Path, faults: Sequence[tuple[str, bytes]]):
    """(line the fault sits on, from 1; its case) for each fault."""
    lines = manifest.read_bytes().split(b"\n")
    for case, row in faults:
        yield lines.index(row) + 1, case


def all_bad(manifest: Path, out: Path) -> tuple[int, bool, str]:
    """`mer ingest` on a manifest with no valid row: (exit code, traceback shown, last line)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "ingest", "--preset",
                           "manifest", "--data-root", str(manifest), "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return done.returncode, "Traceback" in done.stdout + done.stderr, last


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    work = Path(args.out or tempfile.mkdtemp(prefix="bad-input-"))
    manifest_csv, manifest_jsonl, bad = build(work / "data")
    totals = [ingest_one(manifest_csv, CSV_FAULTS, work / "out-csv"),
              ingest_one(manifest_jsonl, JSONL_FAULTS, work / "out-jsonl")]
    code, traceback_shown, last = all_bad(bad, work / "out-all-bad")
    print(f"\nall-bad manifest, `mer ingest`: exit {code}; {last}")
    listed = sum(t["listed"] for t in totals)
    written = sum(t["written"] for t in totals)
    quarantined = sum(t["quarantined"] for t in totals)
    print(f"\nfaults_tried: {len(CSV_FAULTS) + len(JSONL_FAULTS) + 1}")
    print(f"listed: {listed}")
    print(f"written: {written}")
    print(f"quarantined: {quarantined}")
    print(f"records_lost: {listed - written - quarantined}")
    print(f"good_rows_written: {sum(t['good_written'] for t in totals)}/{2 * GOOD}")
    print(f"all_bad_exit_code: {code}")
    print(f"all_bad_traceback: {'yes' if traceback_shown else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
