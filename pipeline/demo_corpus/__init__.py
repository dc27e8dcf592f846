"""Embedded, deterministic multimodal demo corpus (text + synthetic speech, 4 emotions).

Why this exists: ``make demo`` and the end-to-end tests must run the whole pipeline on a fresh
clone with no downloads and no licensed data. Real emotion corpora (IEMOCAP, RAVDESS) cannot be
shipped, so we synthesise a small one in a few seconds with NumPy/SciPy.

Why it is built the way it is: a demo corpus where each modality alone is perfect would hide
every interesting property of a multimodal pipeline (and bugs in the fusion model). The
generator therefore makes each modality *imperfect in a complementary way*:

* **Text** carries valence. Happy vs angry wording is well separated (distinct cue words), but
  low-arousal utterances (neutral and sad) often use the same plain, cue-free wording, so text
  confuses neutral with sad. A small share of happy/angry utterances only carries shared
  arousal words ("really", "can't believe") which do not tell the two apart.
* **Audio** carries arousal and voice quality. Sad speech is low, flat, slow, quiet and breathy,
  clearly unlike neutral speech; happy and angry are both high, varied, fast and loud and differ
  only slightly (angry a little tenser/louder, happy a little higher with raised formants), so
  audio confuses happy with angry.

Fusing both therefore fixes most errors of either one (see ``benchmarks/demo_corpus.py``).

Audio model (source-filter, vectorised per clip): a Rosenberg glottal pulse driven by a pitch
contour (declination + per-syllable accents + jitter), aspiration noise for breathiness,
a five-vowel set of three-formant resonators (cross-faded per syllable), fricative noise bursts
between syllables, a per-syllable amplitude envelope and a background noise floor. Speakers
differ in base pitch, formant scale (vocal-tract length), breathiness and loudness.

Every clip and sentence is drawn from its own RNG stream derived from
``(seed, speaker, emotion, index)``, so the corpus is byte-for-byte reproducible and independent
of generation order.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from pipeline.demo_corpus.config import (
    EMOTIONS,
    GENERATOR_VERSION,
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    METADATA_NAME,
    DemoCorpusConfig,
)
from pipeline.demo_corpus.speech import make_speakers, synthesize, wav_bytes
from pipeline.demo_corpus.text import make_text

# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


def _utterance_rng(config: DemoCorpusConfig, speaker_idx: int, emotion_idx: int, k: int,
                   stream: int) -> np.random.Generator:
    """Independent stream per utterance (and per modality), independent of generation order."""
    return np.random.default_rng([config.seed, speaker_idx, emotion_idx, k, stream])


def _build(config: DemoCorpusConfig) -> tuple[list[dict], dict[str, bytes]]:
    """Manifest rows and WAV bytes (by relative path) for the whole corpus, in memory."""
    rows: list[dict] = []
    files: dict[str, bytes] = {}
    for s, spk in enumerate(make_speakers(config)):
        for e, emotion in enumerate(EMOTIONS):
            for k in range(config.utterances_per_class_per_speaker):
                uid = f"{spk.name}_{emotion}_{k:03d}"
                rel = f"audio/{spk.name}/{uid}.wav"
                text = make_text(_utterance_rng(config, s, e, k, 0), emotion, config.text_noise)
                wave = synthesize(_utterance_rng(config, s, e, k, 1), spk, emotion, config)
                files[rel] = wav_bytes(wave, config.sample_rate)
                rows.append({"id": uid, "audio_path": rel, "text": text, "emotion": emotion,
                             "speaker": spk.name, "gender": spk.gender})
    return rows, files


def _manifest_bytes(rows: Sequence[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _content_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(files[rel]).digest())
    return h.hexdigest()


def _read_metadata(out_dir: Path) -> Optional[dict]:
    try:
        meta = json.loads((out_dir / METADATA_NAME).read_text())
        meta["config"] = DemoCorpusConfig.from_json(meta["config"])
        return meta
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_complete(out_dir: Path, meta: dict) -> bool:
    return (meta.get("generator_version") == GENERATOR_VERSION
            and all((out_dir / rel).is_file() for rel in meta.get("files", ())))


def generate(out_dir: Union[str, Path], config: Optional[DemoCorpusConfig] = None) -> Path:
    """Write the corpus into ``out_dir`` (manifest.csv, audio/, corpus.json); return out_dir.

    Idempotent so the pipeline can call it on every run: if ``out_dir`` already holds a complete
    corpus from the same generator and config, nothing is written (mtimes, and with them the
    pipeline's input fingerprint and cache, stay valid). ``config=None`` means "whatever demo
    corpus is already there (regenerated with its own config if files are missing or the
    generator changed), else the default one"; this lets a caller such as a test generate a
    small corpus, or edit it, before the pipeline runs on it. A different explicit config
    regenerates: files of the old corpus are removed first, other files in ``out_dir`` are left.

    ``corpus.json`` is written last, so an interrupted run leaves no valid metadata and is
    redone on the next call. It records the config and a SHA-256 over all generated files; the
    hash is not re-verified on reuse (that would undo deliberate edits such as an injected
    corrupt row) but lets anyone check a corpus against a known-good one.
    """
    out_dir = Path(out_dir)
    meta = _read_metadata(out_dir)
    if meta is not None and _is_complete(out_dir, meta):
        if config is None or meta["config"] == config:
            return out_dir
    if config is None:  # repair/upgrade what is there, else the default corpus
        config = meta["config"] if meta is not None else DemoCorpusConfig()

    if meta is not None:  # stale corpus: remove only what we generated
        for rel in meta.get("files", ()):
            try:
                (out_dir / rel).unlink()
            except OSError:
                pass
    (out_dir / METADATA_NAME).unlink(missing_ok=True)

    rows, files = _build(config)
    files[MANIFEST_NAME] = _manifest_bytes(rows)
    for rel, data in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    meta_out = {
        "generator_version": GENERATOR_VERSION,
        "config": config.to_json(),
        "content_sha256": _content_hash(files),
        "n_utterances": len(rows),
        "files": sorted(files),
    }
    tmp = out_dir / (METADATA_NAME + ".tmp")
    tmp.write_text(json.dumps(meta_out, indent=1) + "\n")
    os.replace(tmp, out_dir / METADATA_NAME)
    return out_dir


def verify(out_dir: Union[str, Path]) -> bool:
    """True if every generated file on disk still matches the hash recorded in corpus.json.

    Not used by ``generate`` (see there); for tests, CI and anyone comparing two corpora.
    """
    out_dir = Path(out_dir)
    meta = _read_metadata(out_dir)
    if meta is None or not _is_complete(out_dir, meta):
        return False
    files = {rel: (out_dir / rel).read_bytes() for rel in meta["files"]}
    return _content_hash(files) == meta["content_sha256"]


def read_manifest(out_dir: Union[str, Path]) -> list[dict]:
    """Manifest rows as dicts (convenience for tests, benchmarks and the CLI)."""
    with open(Path(out_dir) / MANIFEST_NAME, newline="") as f:
        return list(csv.DictReader(f))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m pipeline.demo_corpus OUT_DIR``: generate (or reuse) and print counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    defaults = DemoCorpusConfig()
    parser.add_argument("--speakers", type=int, default=defaults.n_speakers)
    parser.add_argument("--per-class", type=int, default=defaults.utterances_per_class_per_speaker)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--text-noise", type=float, default=defaults.text_noise)
    parser.add_argument("--audio-noise", type=float, default=defaults.audio_noise)
    args = parser.parse_args(argv)
    config = DemoCorpusConfig(n_speakers=args.speakers,
                              utterances_per_class_per_speaker=args.per_class, seed=args.seed,
                              text_noise=args.text_noise, audio_noise=args.audio_noise)
    started = time.perf_counter()
    generate(args.out_dir, config)
    elapsed = time.perf_counter() - started
    rows = read_manifest(args.out_dir)
    size = sum(f.stat().st_size for f in args.out_dir.rglob("*") if f.is_file())
    print(f"{args.out_dir}: {len(rows)} utterances, {size / 1e6:.1f} MB, {elapsed:.1f} s")
    for col in ("emotion", "gender", "speaker"):
        counts = Counter(r[col] for r in rows)
        print(f"  {col:<8} " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0

