"""MELD (Friends) CSVs: text always; audio when `dia{D}_utt{U}.wav|flac` is present."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, Union

from components.example_gen.contract import BAD_ROW, Rejected, Source

AUDIO_SUFFIXES = (".wav", ".flac")


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    root = Path(data_root)
    audio = {p.stem: p for p in root.rglob("dia*_utt*.*") if p.suffix.lower() in AUDIO_SUFFIXES}
    for path in sorted(root.rglob("*_sent_emo*.csv")):
        split = path.stem.split("_")[0]
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            for n, row in enumerate(csv.DictReader(f), 2):
                origin = f"{path}:{n}"
                try:
                    dia, utt = row["Dialogue_ID"].strip(), row["Utterance_ID"].strip()
                    text, emotion = row["Utterance"].strip(), row["Emotion"].strip().lower()
                except KeyError as e:
                    raise ValueError(f"{path} lacks column {e}; MELD CSVs have Utterance, "
                                     f"Speaker, Emotion, Dialogue_ID, Utterance_ID") from None
                if not dia or not utt:
                    yield Rejected(f"{split}_row{n}", BAD_ROW, origin,
                                   "empty dialogue/utterance id")
                    continue
                key = f"dia{dia}_utt{utt}"
                wav = audio.get(key)
                yield Source(id=f"{split}_{key}", dataset="meld", emotion=emotion,
                             speaker=row.get("Speaker", "").strip(), text=text,
                             audio_path=str(wav) if wav else None, origin=origin)
