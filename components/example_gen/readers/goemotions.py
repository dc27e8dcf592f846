"""GoEmotions Reddit comments mapped to Ekman's 6 emotions + neutral.

Reads the original 28-label TSVs (text<TAB>comma-separated label ids<TAB>id,
no header) named by `emotions.txt`, from `data_root/original/` or
`data_root` itself. A folder already mapped to Ekman (`labels.txt` holding
the 7 Ekman names, as monologg's `ekman/`) reads the same way, the names
passing through the mapping unchanged. Text only: no audio, no speaker.

The mapping is the published one (`ekman_mapping.json` in the GoEmotions
repository); the shared copy's `ekman_monologg/` holds mapped TSVs, not the
mapping itself, and the tests check this mapping against it.

Multi-label rows (`multi_label` option):
- "first" (default): a row is kept, as the Ekman class of its first label,
  when all its labels map to that same Ekman class; a row whose labels map to
  different classes is Rejected(bad_row, "ambiguous multi-label ..."), so it
  is counted in the report, not guessed.
- "drop": every multi-label row is Rejected(bad_row).

All files (train/dev/test) are listed, each Source carrying its file's split
(`train`, `dev`, `test`): the preset's split method decides, and `predefined`
follows the published split.

The files are read with `encoding` (UTF-8 by default); a line with a byte that does not decode
or a NUL is Rejected(bad_encoding, bad_row) naming the line, and the rest goes on.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, Union

from components.core.contract import BAD_ROW, Rejected, Source
from components.core.errors import DataError, MissingDataError
from components.example_gen.readers import text_file

DATASET = "goemotions"
MULTI_LABEL_POLICIES = ("first", "drop")
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


def _split_of(tsv: Path) -> str:
    """`train.tsv` -> train; files not named after a split carry none."""
    return tsv.stem.lower() if tsv.stem.lower() in ("train", "dev", "test") else ""


def _folder(root: Path) -> Path:
    return root / "original" if (root / "original").is_dir() else root


def _label_names(folder: Path, encoding: str) -> list[str]:
    for name in ("emotions.txt", "labels.txt"):
        path = folder / name
        if path.is_file():
            lines = text_file.read_lines(path, encoding)
            bad = next((ln.problem for ln in lines if ln.problem), None)
            if bad:  # every id after a bad name would map to the wrong emotion
                raise DataError(f"{path}: {bad.detail}.")
            return [ln.text.strip() for ln in lines if ln.text.strip()]
    raise MissingDataError(
        f"{folder} has no emotions.txt (or labels.txt) naming the label ids; point --data-root "
        f"at the GoEmotions data folder holding train.tsv, dev.tsv, test.tsv and emotions.txt.")


def read(
    data_root: Path, multi_label: str = "first", encoding: str = text_file.DEFAULT_ENCODING,
    **options,
) -> Iterator[Union[Source, Rejected]]:
    """Lists every row of every TSV, mapped to Ekman + neutral."""
    if multi_label not in MULTI_LABEL_POLICIES:
        raise DataError(
            f"multi_label must be one of {MULTI_LABEL_POLICIES}, got {multi_label!r}.")
    folder = _folder(Path(data_root))
    names = _label_names(folder, encoding)
    tsvs = sorted(folder.glob("*.tsv"))
    if not tsvs:
        raise MissingDataError(f"No .tsv files in {folder}; expected train/dev/test.tsv.")
    for tsv in tsvs:
        for rec in text_file.csv_records(tsv, encoding, delimiter="\t", quoting=csv.QUOTE_NONE):
            n, row = rec.line, rec.values
            origin = f"{tsv}:{n}"
            if rec.problem:
                yield Rejected(f"{tsv.stem}_{n}", rec.problem.reason, origin,
                               f"{tsv.name} {rec.problem.detail}")
                continue
            if len(row) < 3:
                yield Rejected(f"{tsv.stem}_{n}", BAD_ROW, origin,
                               "expected text<TAB>label ids<TAB>id; fix or drop the line")
                continue
            text, ids, rid = row[0], row[1], row[2].strip() or f"{tsv.stem}_{n}"
            try:
                if not all(i.strip().isdigit() for i in ids.split(",")):
                    raise DataError(ids)
                fine = [names[int(i)] for i in ids.split(",")]
            except (ValueError, IndexError):
                yield Rejected(rid, BAD_ROW, origin,
                               f"label ids {ids!r} are not indices into the {len(names)} "
                               f"names of emotions.txt; fix or drop the line")
                continue
            ekman = [TO_EKMAN.get(x, x) for x in fine]
            if len(fine) > 1 and (multi_label == "drop" or len(set(ekman)) > 1):
                why = ("multi-label row dropped (multi_label='drop')" if multi_label == "drop"
                       else "ambiguous multi-label row")
                yield Rejected(rid, BAD_ROW, origin,
                               f"{why}: {fine} -> {sorted(set(ekman))}; nothing to fix")
                continue
            yield Source(id=rid, dataset=DATASET, emotion=ekman[0], text=text.strip(),
                         origin=origin, split=_split_of(tsv))
