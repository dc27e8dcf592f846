"""PsychExp (ISEAR) as published with DeepMoji: `raw.pickle`, or `psychexp.csv`.

Text only: `audio_path` is None and there is no speaker. The pickle is read
first because it is the published artifact; `psychexp.csv` (columns text,
label) is the fallback for users without it. Both list the 7480 texts in the
same order, so ids (`psychexp_00000` ...) agree whichever file is read.

The pickle holds Python 2 strings, hence `encoding='latin1'`; texts that
come out as bytes are decoded as UTF-8 with replacement. `info[i]['label']`
is a one-hot over the 7 classes in DeepMoji's order. Each Source carries
DeepMoji's own assignment (`train_ind`/`val_ind`/`test_ind`, or the CSV's `split`
column; val becomes `dev`), which only the `predefined` split method follows: the
reference system used a random 80/20 split, which is the preset's default.

The CSV is read with `encoding` (UTF-8 by default); a row with a byte that does not decode, a
NUL or the wrong number of fields is Rejected(bad_encoding, bad_row) naming its line. A pickle
that does not load is one error naming the file: it has no rows to keep apart.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Iterator, Union

import numpy as np

from components.core.contract import BAD_ROW, Rejected, Source
from components.core.errors import DataError, MissingDataError
from components.example_gen.readers import text_file

DATASET = "psychexp"
LABELS = ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt")


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _id(i: int) -> str:
    return f"psychexp_{i:05d}"


def _from_pickle(path: Path) -> Iterator[Union[Source, Rejected]]:
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")  # noqa: S301 - the dataset's own format
        texts, info = list(data["texts"]), list(data["info"])
        split_of = {int(i): name for key, name in (("train_ind", "train"), ("val_ind", "dev"),
                                                    ("test_ind", "test"))
                    for i in data.get(key, ())}
    except Exception as e:  # noqa: BLE001 - any damage reads as one clear error
        raise DataError(f"{path} does not load as DeepMoji's PsychExp pickle "
                         f"({type(e).__name__}: {e}); download it again or use psychexp.csv."
                         ) from e
    if len(texts) != len(info):
        raise DataError(f"{path}: {len(texts)} texts but {len(info)} labels; the pickle is "
                         f"damaged, download it again or use psychexp.csv.")
    for i, (text, meta) in enumerate(zip(texts, info, strict=True)):
        origin = f"{path}:{i}"
        try:
            onehot = np.asarray(meta.get("label", []), dtype=float).reshape(-1)
        except (AttributeError, TypeError, ValueError):
            onehot = np.zeros(0)
        if onehot.size != len(LABELS) or onehot.sum() != 1 or onehot.max() != 1:
            yield Rejected(_id(i), BAD_ROW, origin,
                           f"label {onehot.tolist()} is not a one-hot over {LABELS}; "
                           f"fix or drop the record")
            continue
        yield Source(id=_id(i), dataset=DATASET, emotion=LABELS[int(onehot.argmax())],
                     text=_text(text).strip(), origin=origin, split=split_of.get(i, ""))


def _from_csv(path: Path, encoding: str) -> Iterator[Union[Source, Rejected]]:
    columns, rows = text_file.csv_dicts(path, encoding)
    missing = {"text", "label"} - set(columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}; found "
                         f"{columns}. The CSV needs text and label columns.")
    for n, rec, row in rows:
        i = n - 1
        origin = f"{path}:row {n} (line {rec.line})"
        if row is None:
            yield Rejected(_id(i), rec.problem.reason, origin,
                           f"{path.name} {rec.problem.detail}")
            continue
        label = (row["label"] or "").strip().lower()
        if not label:
            yield Rejected(_id(i), BAD_ROW, origin, "empty label; fix or drop the row")
            continue
        split = (row.get("split") or "").strip().lower()
        yield Source(id=_id(i), dataset=DATASET, emotion=label,
                     text=(row["text"] or "").strip(), origin=origin,
                     split={"val": "dev"}.get(split, split))


def read(data_root: Path, encoding: str = text_file.DEFAULT_ENCODING, **options
         ) -> Iterator[Union[Source, Rejected]]:
    """Lists the texts from `raw.pickle`, else `psychexp.csv` (root may be either file)."""
    root = Path(data_root)
    if root.is_file():
        yield from (_from_pickle(root) if root.suffix == ".pickle" else _from_csv(root, encoding))
        return
    if (root / "raw.pickle").is_file():
        yield from _from_pickle(root / "raw.pickle")
    elif (root / "psychexp.csv").is_file():
        yield from _from_csv(root / "psychexp.csv", encoding)
    else:
        raise MissingDataError(
            f"Neither raw.pickle nor psychexp.csv under {root}; point --data-root at the "
            f"PsychExp folder from DeepMoji's data release.")
