"""Any dataset without code: a CSV or JSONL manifest.

`data_root` is the manifest file itself, or a folder holding `manifest.csv`
or `manifest.jsonl`. Columns (rename them with the preset's reader_options):

| option | default | meaning |
|---|---|---|
| `audio_col` | `audio_path` | audio file, relative to the manifest's folder or absolute |
| `text_col` | `text` | transcript or text sample |
| `label_col` | `emotion` | the label (required in every row) |
| `speaker_col` | `speaker` | speaker id (optional) |
| `gender_col` | `gender` | female/male, also f/m/woman/man (optional) |
| `id_col` | `id` | unique id; default: the audio file's stem, else `row<N>` |

The label column and at least one of the audio and text columns must exist;
an optional column named explicitly in the options must exist too, so a
typo in a preset is an error rather than silently empty speakers. A missing
column is a ValueError naming it and the columns found. A row without a
label, or with neither audio nor text, is Rejected(bad_row) and a row whose
audio file does not exist is Rejected(missing_file), both with origin
`<manifest>:row N` (N counts data rows from 1, the header excluded).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator, Optional, Union

from components.core.contract import BAD_ROW, MISSING_FILE, Rejected, Source

MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")
DEFAULT_COLUMNS = {"audio_col": "audio_path", "text_col": "text", "label_col": "emotion",
                   "speaker_col": "speaker", "gender_col": "gender", "id_col": "id"}
GENDERS = {"female": "female", "f": "female", "woman": "female",
           "male": "male", "m": "male", "man": "male"}
_ERROR = "__error__"


def _manifest_path(data_root: Path) -> Path:
    if data_root.is_file():
        return data_root
    for name in MANIFEST_NAMES:
        if (data_root / name).is_file():
            return data_root / name
    raise FileNotFoundError(
        f"No manifest.csv or manifest.jsonl in {data_root}; pass the manifest file itself "
        f"as --data-root or add one (columns: audio_path, text, emotion, speaker, gender, id).")


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """(columns, [(data row number, row)]); JSONL columns are the union of all keys.

    Read whole: ingestion keeps the full listing in memory anyway (splits need it).
    """
    if path.suffix.lower() in (".jsonl", ".json"):
        rows: list[tuple[int, dict]] = []
        columns: dict[str, None] = {}
        with open(path, encoding="utf-8") as f:
            lines = [ln for ln in f if ln.strip()]
        for n, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("a line must be a JSON object")
            except ValueError as e:
                row = {_ERROR: str(e)}
            columns.update(dict.fromkeys(k for k in row if k != _ERROR))
            rows.append((n, row))
        return list(columns), rows
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: Excel's BOM
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(enumerate(reader, 1))


def _value(row: dict, col: str) -> str:
    value = row.get(col)
    return "" if value is None else str(value).strip()


def _check_columns(path: Path, columns: list[str], cols: dict[str, str]) -> None:
    found = f"found {columns}. Rename the columns or set the preset's reader_options"
    if cols["label_col"] not in columns:
        raise ValueError(f"{path}: no label column {cols['label_col']!r}; {found} (label_col).")
    if cols["audio_col"] not in columns and cols["text_col"] not in columns:
        raise ValueError(f"{path}: needs an audio column {cols['audio_col']!r} and/or a text "
                         f"column {cols['text_col']!r}; {found} (audio_col, text_col).")
    for option, col in cols.items():
        if col != DEFAULT_COLUMNS[option] and col not in columns:
            raise ValueError(f"{path}: no column {col!r} (set as {option}); {found}.")


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
    """Lists every manifest row; `dataset` names the set (default: the manifest's folder)."""
    path = _manifest_path(Path(data_root))
    base = path.parent
    name = dataset or base.name or "manifest"
    cols = {"audio_col": audio_col, "text_col": text_col, "label_col": label_col,
            "speaker_col": speaker_col, "gender_col": gender_col, "id_col": id_col}
    columns, rows = _rows(path)
    _check_columns(path, columns, cols)
    for n, row in rows:
        origin = f"{path}:row {n}"
        if _ERROR in row:
            yield Rejected(f"row{n}", BAD_ROW, origin,
                           f"invalid JSON ({row[_ERROR]}); fix or drop the line")
            continue
        audio = _value(row, audio_col)
        rid = _value(row, id_col) or (Path(audio).stem if audio else f"row{n}")
        emotion = _value(row, label_col)
        text = _value(row, text_col)
        if not emotion:
            yield Rejected(rid, BAD_ROW, origin,
                           f"empty {label_col!r}; every row needs a label, fill it or drop the row")
            continue
        if not audio and not text:
            yield Rejected(rid, BAD_ROW, origin,
                           f"neither {audio_col!r} nor {text_col!r} is set; fill one or drop "
                           f"the row")
            continue
        audio_path = None
        if audio:
            p = Path(audio).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                yield Rejected(rid, MISSING_FILE, origin,
                               f"{p} does not exist; fix the {audio_col!r} value (relative "
                               f"paths are relative to {base}) or restore the file")
                continue
            audio_path = str(p)
        yield Source(
            id=rid,
            dataset=name,
            emotion=emotion,
            speaker=_value(row, speaker_col),
            gender=GENDERS.get(_value(row, gender_col).lower(), ""),
            text=text,
            audio_path=audio_path,
            origin=origin,
        )
