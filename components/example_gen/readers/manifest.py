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
| `id_col` | `id` | unique id; default: the audio path relative to the folder, else `row<N>` |
| `encoding` | `utf-8` | the file's text encoding (a UTF-8 BOM is skipped), e.g. `cp1252` |

The label column and at least one of the audio and text columns must exist;
an optional column named explicitly in the options must exist too, so a
typo in a preset is an error rather than silently empty speakers. A missing
column is a ValueError naming it and the columns found. A row without a
label, or with neither audio nor text, is Rejected(bad_row) and a row whose
audio file does not exist is Rejected(missing_file), both with origin
`<manifest>:row N` (N counts data rows from 1, the header excluded).

One bad row never fails the file: a row with a byte the encoding cannot decode is
Rejected(bad_encoding), one with a NUL, a field count other than the header's, invalid JSON,
an unclosed quote or a field that is not text (a JSON list) is Rejected(bad_row); the detail
names the file's line so the row can be found and fixed (`text_file`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Optional, Union

from components.core.contract import BAD_ENCODING, BAD_ROW, MISSING_FILE, Rejected, Source
from components.core.errors import DataError, MissingDataError
from components.example_gen.readers import text_file

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
    raise MissingDataError(
        f"No manifest.csv or manifest.jsonl in {data_root}; pass the manifest file itself "
        f"as --data-root or add one (columns: audio_path, text, emotion, speaker, gender, id).")


def _rows(path: Path, encoding: str) -> tuple[list[str], list[tuple[int, str, dict]]]:
    """(columns, [(data row number, "line L", row)]); JSONL columns are the union of all keys.

    A row that cannot be read is {_ERROR: Problem}. Read whole: ingestion keeps the full
    listing in memory anyway (splits need it).
    """
    if path.suffix.lower() in (".jsonl", ".json"):
        return _jsonl_rows(path, encoding)
    columns, records = text_file.csv_dicts(path, encoding)
    return columns, [(n, f"line {rec.line}", row if row is not None else {_ERROR: rec.problem})
                     for n, rec, row in records]


def _jsonl_rows(path: Path, encoding: str) -> tuple[list[str], list[tuple[int, str, dict]]]:
    rows: list[tuple[int, str, dict]] = []
    columns: dict[str, None] = {}
    for line in text_file.read_lines(path, encoding):
        if not line.text.strip() and not line.problem:
            continue
        row: dict = {_ERROR: line.problem} if line.problem else {}
        if not line.problem:
            try:
                row = json.loads(line.text)
                if not isinstance(row, dict):
                    raise DataError("a line must be a JSON object")
            except ValueError as e:
                row = {_ERROR: text_file.Problem(
                    BAD_ROW, f"line {line.number}: invalid JSON ({e}); fix or drop the line")}
            if _ERROR not in row:
                bad = next((f"field {k!r}: {why}" for k, v in row.items()
                            for why in [text_file.encoding_problem(str(k) + str(v))] if why),
                           None)
                if bad:
                    row = {_ERROR: text_file.Problem(
                        BAD_ENCODING, f"line {line.number}: {bad}; fix or drop the line")}
        columns.update(dict.fromkeys(k for k in row if k != _ERROR))
        rows.append((len(rows) + 1, f"line {line.number}", row))
    return list(columns), rows


def _value(row: dict, col: str) -> str:
    """The field as text: JSON numbers and booleans read as written; lists and objects are a
    bad field (TypeError)."""
    value = row.get(col)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise TypeError(f"{col!r} holds a JSON {type(value).__name__}, not a value")
    return str(value).strip()


def _check_columns(path: Path, columns: list[str], cols: dict[str, str]) -> None:
    found = f"found {columns}. Rename the columns or set the preset's reader_options"
    if cols["label_col"] not in columns:
        raise DataError(f"{path}: no label column {cols['label_col']!r}; {found} (label_col).")
    if cols["audio_col"] not in columns and cols["text_col"] not in columns:
        raise DataError(f"{path}: needs an audio column {cols['audio_col']!r} and/or a text "
                         f"column {cols['text_col']!r}; {found} (audio_col, text_col).")
    for option, col in cols.items():
        if col != DEFAULT_COLUMNS[option] and col not in columns:
            raise DataError(f"{path}: no column {col!r} (set as {option}); {found}.")


def read(
    data_root: Path,
    audio_col: str = "audio_path",
    text_col: str = "text",
    label_col: str = "emotion",
    speaker_col: str = "speaker",
    gender_col: str = "gender",
    id_col: str = "id",
    dataset: Optional[str] = None,
    encoding: str = text_file.DEFAULT_ENCODING,
    require_label: bool = True,
    **options,
) -> Iterator[Union[Source, Rejected]]:
    """Lists every manifest row; `dataset` names the set (default: the manifest's folder).

    `require_label=False` lists unlabelled rows too (emotion ""): what `mer infer` reads, since
    scoring needs no label; training always requires one."""
    path = _manifest_path(Path(data_root))
    base = path.parent
    name = dataset or base.name or "manifest"
    cols = {"audio_col": audio_col, "text_col": text_col, "label_col": label_col,
            "speaker_col": speaker_col, "gender_col": gender_col, "id_col": id_col}
    columns, rows = _rows(path, encoding)
    _check_columns(path, columns, cols)
    for n, line, row in rows:
        origin = f"{path}:row {n} ({line})"
        if _ERROR in row:
            yield Rejected(f"row{n}", row[_ERROR].reason, origin, row[_ERROR].detail)
            continue
        try:
            yield _source(row, n, origin, base, name, cols, require_label)
        except TypeError as e:
            yield Rejected(f"row{n}", BAD_ROW, origin, f"{e}; fix or drop the row")


def default_id(audio: str, base: Path, n: int) -> str:
    """A row's id when the manifest has none: its audio path relative to the manifest's folder
    (`sub1/dup.wav`; an absolute path outside it stays absolute), else `row<N>`.

    Not the file name: `sub1/dup.wav` and `sub2/dup.wav` are different recordings, and an id
    shared by two records quarantines the second as duplicate_id. The path is normalised
    (`./a.wav`, `x/../a.wav` and `a.wav` are one id), so the same file listed twice is still
    caught as a duplicate. Computed from the text only: a NUL or a bad path is reported later.
    """
    if not audio:
        return f"row{n}"
    path = os.path.normpath(os.path.join(base, os.path.expanduser(audio)))
    rel = os.path.relpath(path, base)
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) \
        else Path(rel).as_posix()


def _source(row: dict, n: int, origin: str, base: Path, name: str, cols: dict[str, str],
            require_label: bool = True) -> Union[Source, Rejected]:
    audio_col, text_col, label_col = cols["audio_col"], cols["text_col"], cols["label_col"]
    audio = _value(row, audio_col)
    rid = _value(row, cols["id_col"]) or default_id(audio, base, n)
    emotion = _value(row, label_col)
    text = _value(row, text_col)
    if not emotion and require_label:
        return Rejected(rid, BAD_ROW, origin,
                        f"empty {label_col!r}; every row needs a label, fill it or drop the row")
    if not audio and not text:
        return Rejected(rid, BAD_ROW, origin,
                        f"neither {audio_col!r} nor {text_col!r} is set; fill one or drop the row")
    audio_path = None
    if audio:
        if "\0" in audio:  # a JSON \u0000: no file system takes it (pathlib says "missing")
            return Rejected(rid, BAD_ROW, origin, f"{audio_col!r} holds a NUL character; fix "
                                                  f"the value")
        p = Path(audio).expanduser()
        p = p if p.is_absolute() else base / p
        try:
            exists = p.is_file()
        except (OSError, ValueError) as e:  # a NUL (from JSON \u0000), a name too long
            return Rejected(rid, BAD_ROW, origin, f"{audio_col!r} is not a usable path ({e}); "
                                                  f"fix the value")
        if not exists:
            return Rejected(rid, MISSING_FILE, origin,
                            f"{p} does not exist; fix the {audio_col!r} value (relative "
                            f"paths are relative to {base}) or restore the file")
        audio_path = str(p)
    return Source(
        id=rid,
        dataset=name,
        emotion=emotion,
        speaker=_value(row, cols["speaker_col"]),
        gender=GENDERS.get(_value(row, cols["gender_col"]).lower(), ""),
        text=text,
        audio_path=audio_path,
        origin=origin,
    )
