"""CREMA-D: `AudioWAV/1001_DFA_ANG_XX.wav` + `VideoDemographics.csv` for gender."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, Union

from components.example_gen.contract import BAD_ROW, Rejected, Source

EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy",
            "NEU": "neutral", "SAD": "sad"}
SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}


def _genders(root: Path) -> dict[str, str]:
    for path in sorted(root.rglob("VideoDemographics.csv")):
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            return {row["ActorID"].strip(): row["Sex"].strip().lower()
                    for row in csv.DictReader(f)}
    return {}


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    root = Path(data_root)
    genders = _genders(root)
    files = sorted(p for p in root.rglob("*_*_*_*.*") if p.suffix.lower() in (".wav", ".flac"))
    for path in files:
        parts = path.stem.split("_")
        if len(parts) != 4 or parts[2] not in EMOTIONS:
            yield Rejected(path.stem, BAD_ROW, str(path),
                           "file name is not CREMA-D's ACTOR_SENTENCE_EMOTION_LEVEL pattern")
            continue
        actor, sentence, emotion, _level = parts
        yield Source(id=path.stem, dataset="cremad", emotion=EMOTIONS[emotion],
                     speaker=actor, gender=genders.get(actor, ""),
                     text=SENTENCES.get(sentence, ""), audio_path=str(path), origin=str(path))
