"""MELD (Friends dialogues): `*_sent_emo.csv` text, audio when a readable clip is present.

Every row of `train_sent_emo.csv`, `dev_sent_emo.csv` and `test_sent_emo.csv`
found below the root is listed (columns Sr No., Utterance, Speaker, Emotion,
Sentiment, Dialogue_ID, Utterance_ID, ...); ids are `<split>_dia{D}_utt{U}`
because dialogue numbering restarts in each split file.

Audio: a file `dia{D}_utt{U}.wav` or `.flac` (formats soundfile reads) below
the root is used when one is there. MELD ships `.mp4` video, which soundfile
cannot read: extract the audio to WAV first (e.g. `ffmpeg -i x.mp4 -ac 1
-ar 16000 x.wav`), or the record stays text-only (`audio_path` None). When
the root holds more than one split file, a clip counts only if its folder
path names the split (`train_splits/`, `dev_splits_complete/`,
`output_repeated_splits_test/`), so dev's dia0_utt0 never gets train's audio.

The CSVs are read with `encoding` (UTF-8 by default); a row with a byte that does not decode,
a NUL or the wrong number of fields is Rejected(bad_encoding, bad_row) naming its line.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Iterator, Optional, Union

from components.core.contract import BAD_ROW, Rejected, Source
from components.core.errors import DataError, MissingDataError
from components.example_gen.readers import text_file

DATASET = "meld"
AUDIO_SUFFIXES = (".wav", ".flac")
COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


def _audio_index(root: Path) -> dict[str, list[Path]]:
    index: dict[str, list[Path]] = collections.defaultdict(list)
    for p in root.rglob("dia*_utt*.*"):
        if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file():
            index[p.stem].append(p)
    return index


def _pick_audio(candidates: list[Path], root: Path, split: str, single_split: bool
                ) -> Optional[Path]:
    if single_split:
        return sorted(candidates)[0] if candidates else None
    named = [p for p in candidates if split in str(p.parent.relative_to(root)).lower()]
    return sorted(named)[0] if named else None


def read(data_root: Path, encoding: str = text_file.DEFAULT_ENCODING, **options
         ) -> Iterator[Union[Source, Rejected]]:
    """Lists every utterance of every MELD split CSV below the root."""
    root = Path(data_root)
    csvs = sorted(root.rglob("*_sent_emo*.csv"))
    if not csvs:
        raise MissingDataError(
            f"No *_sent_emo.csv under {root}; point --data-root at the MELD folder holding "
            f"train_sent_emo.csv, dev_sent_emo.csv and test_sent_emo.csv.")
    audio = _audio_index(root)
    for path in csvs:
        split = path.stem.split("_")[0].lower()
        columns, rows = text_file.csv_dicts(path, encoding)
        missing = [c for c in COLUMNS if c not in columns]
        if missing:
            raise DataError(f"{path} lacks column(s) {missing}; found {columns}. "
                             f"MELD CSVs have {', '.join(COLUMNS)}.")
        for n, rec, row in rows:
            origin = f"{path}:row {n} (line {rec.line})"
            if row is None:
                yield Rejected(f"{split}_row{n}", rec.problem.reason, origin,
                               f"{path.name} {rec.problem.detail}")
                continue
            dia = (row["Dialogue_ID"] or "").strip()
            utt = (row["Utterance_ID"] or "").strip()
            emotion = (row["Emotion"] or "").strip().lower()
            if not dia.isdigit() or not utt.isdigit() or not emotion:
                yield Rejected(f"{split}_row{n}", BAD_ROW, origin,
                               "empty or non-numeric Dialogue_ID/Utterance_ID or empty "
                               "Emotion; fix or drop the row")
                continue
            key = f"dia{int(dia)}_utt{int(utt)}"
            wav = _pick_audio(audio.get(key, []), root, split, len(csvs) == 1)
            yield Source(
                id=f"{split}_{key}",
                dataset=DATASET,
                emotion=emotion,
                speaker=(row["Speaker"] or "").strip(),
                text=(row["Utterance"] or "").strip(),
                audio_path=str(wav) if wav else None,
                origin=origin,
                split=split if split in ("train", "dev", "test") else "",
            )
