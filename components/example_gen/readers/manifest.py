"""Any dataset without code: a CSV or JSONL manifest.

Columns (names configurable through the preset's reader_options):
`audio_path` (relative to the manifest's folder, or absolute), `text`,
`emotion`, `speaker`, `gender`, `id`. Audio or text may be absent for a
text-only or speech-only set; `emotion` is required.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator, Optional, Union

from components.example_gen.contract import BAD_ROW, MISSING_FILE, Rejected, Source


def _manifest_path(data_root: Path) -> Path:
    if data_root.is_file():
        return data_root
    for name in ("manifest.csv", "manifest.jsonl"):
        if (data_root / name).exists():
            return data_root / name
    raise FileNotFoundError(
        f"No manifest.csv or manifest.jsonl in {data_root}; pass the manifest file itself "
        f"as --data-root or add one (columns: audio_path, text, emotion, speaker).")


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield n, json.loads(line)
                    except json.JSONDecodeError as e:
                        yield n, {"__error__": str(e)}
    else:
        with open(path, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), 2):
                yield n, row


def read(
    data_root: Path,
    audio_col: str = "audio_path",
    text_col: str = "text",
    label_col: str = "emotion",
    speaker_col: str = "speaker",
    gender_col: str = "gender",
    id_col: str = "id",
    dataset: Optional[str] = None,
    **options,
) -> Iterator[Union[Source, Rejected]]:
    path = _manifest_path(Path(data_root))
    base = path.parent
    name = dataset or base.name
    checked = False
    for n, row in _rows(path):
        origin = f"{path}:{n}"
        if "__error__" in row:
            yield Rejected(f"row{n}", BAD_ROW, origin, f"invalid JSON: {row['__error__']}")
            continue
        if not checked:
            if label_col not in row or (audio_col not in row and text_col not in row):
                raise ValueError(
                    f"{path}: needs a {label_col!r} column and {audio_col!r} and/or {text_col!r}; "
                    f"found {sorted(row)}. Rename the columns or set reader_options.")
            checked = True
        rid = str(row.get(id_col) or (Path(row[audio_col]).stem if row.get(audio_col)
                                      else f"row{n}"))
        emotion = str(row.get(label_col) or "").strip()
        if not emotion:
            yield Rejected(rid, BAD_ROW, origin, f"empty {label_col!r}; every row needs a label")
            continue
        audio_path = None
        if row.get(audio_col):
            p = Path(str(row[audio_col]))
            p = p if p.is_absolute() else base / p
            if not p.exists():
                yield Rejected(rid, MISSING_FILE, origin, f"{p} does not exist; fix the path")
                continue
            audio_path = str(p)
        yield Source(id=rid, dataset=name, emotion=emotion,
                     speaker=str(row.get(speaker_col) or ""),
                     gender=str(row.get(gender_col) or "").lower(),
                     text=str(row.get(text_col) or ""), audio_path=audio_path, origin=origin)
