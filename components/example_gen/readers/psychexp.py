"""PsychExp (ISEAR) as published with DeepMoji: `raw.pickle`, or `psychexp.csv`.

Text only. The pickle's `info[i]['label']` is a one-hot over the 7 classes
in DeepMoji's order; DeepMoji's own split indices are ignored (the reference
used a random 80/20 split; choose the split in the preset).
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path
from typing import Iterator, Union

import numpy as np

from components.example_gen.contract import BAD_ROW, Rejected, Source

LABELS = ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt")


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    root = Path(data_root)
    pickle_path = root if root.suffix == ".pickle" else root / "raw.pickle"
    if pickle_path.exists():
        with open(pickle_path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
        for i, (text, info) in enumerate(zip(data["texts"], data["info"], strict=True)):
            onehot = np.asarray(info["label"]).reshape(-1)
            origin = f"{pickle_path}:{i}"
            if onehot.size != len(LABELS) or onehot.sum() != 1:
                yield Rejected(f"psychexp_{i:05d}", BAD_ROW, origin,
                               f"label {onehot.tolist()} is not a one-hot of 7")
                continue
            yield Source(id=f"psychexp_{i:05d}", dataset="psychexp",
                         emotion=LABELS[int(onehot.argmax())], text=_text(text).strip(),
                         origin=origin)
        return
    csv_path = root if root.suffix == ".csv" else root / "psychexp.csv"
    if not csv_path.exists():
        raise FileNotFoundError(f"Neither raw.pickle nor psychexp.csv under {root}.")
    with open(csv_path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            yield Source(id=f"psychexp_{i:05d}", dataset="psychexp", emotion=row["label"],
                         text=row["text"].strip(), origin=f"{csv_path}:{i + 2}")
