"""GoEmotions Reddit comments mapped to Ekman's 6 emotions + neutral.

Reads the original 28-label TSVs (text, comma-separated label ids, id) with
`emotions.txt`, or an already Ekman-mapped folder (`labels.txt` holding the
7 Ekman names). Multi-label rows (`multi_label` option):
- "first" (default): kept when all their labels map to the same Ekman class;
  rows whose labels map to different classes are rejected as bad_row
  ("ambiguous multi-label"), so they are counted, not guessed.
- "drop": every multi-label row is rejected as bad_row.
All files (train/dev/test) are listed; the preset's split decides.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, Union

from components.example_gen.contract import BAD_ROW, Rejected, Source

# The published GoEmotions -> Ekman mapping (ekman_mapping.json in the GoEmotions repo).
EKMAN = {
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": ("joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring"),
    "sadness": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
}
TO_EKMAN = {fine: ekman for ekman, fines in EKMAN.items() for fine in fines}


def _label_names(folder: Path) -> list[str]:
    for name in ("emotions.txt", "labels.txt"):
        if (folder / name).exists():
            return [ln.strip() for ln in (folder / name).read_text().splitlines() if ln.strip()]
    raise FileNotFoundError(f"{folder} has no emotions.txt or labels.txt naming the label ids.")


def _folder(root: Path) -> Path:
    if (root / "original").is_dir():
        return root / "original"
    return root


def read(
    data_root: Path, multi_label: str = "first", **options
) -> Iterator[Union[Source, Rejected]]:
    if multi_label not in ("first", "drop"):
        raise ValueError(f"multi_label must be 'first' or 'drop', got {multi_label!r}")
    folder = _folder(Path(data_root))
    names = _label_names(folder)
    for tsv in sorted(folder.glob("*.tsv")):
        with open(tsv, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                origin = f"{tsv}:{n}"
                if len(row) < 3:
                    yield Rejected(f"{tsv.stem}_{n}", BAD_ROW, origin,
                                   "expected text<TAB>label ids<TAB>id")
                    continue
                text, ids, rid = row[0], row[1], row[2]
                try:
                    fine = [names[int(i)] for i in ids.split(",")]
                except (ValueError, IndexError):
                    yield Rejected(rid, BAD_ROW, origin, f"label ids {ids!r} are not valid")
                    continue
                ekman = {TO_EKMAN.get(x, x) for x in fine}
                if len(fine) > 1 and (multi_label == "drop" or len(ekman) > 1):
                    yield Rejected(rid, BAD_ROW, origin,
                                   f"ambiguous multi-label row {fine} -> {sorted(ekman)}")
                    continue
                yield Source(id=rid, dataset="goemotions", emotion=ekman.pop(),
                             text=text.strip(), origin=origin)
