"""RAVDESS speech: `03-01-EE-II-SS-RR-AA.(wav|flac)` under `Actor_XX/`.

Fields come from the file name: modality 03 (audio only), vocal channel 01
(speech; 02 = song, not listed), emotion, intensity, statement, repetition,
actor. Odd actors are male, even actors female. Takes the 48 kHz WAV
originals and 16 kHz FLAC copies alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from components.example_gen.contract import BAD_ROW, Rejected, Source

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
            "06": "fearful", "07": "disgust", "08": "surprised"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
AUDIO_SUFFIXES = (".wav", ".flac")


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    files = sorted(p for p in Path(data_root).rglob("*")
                   if p.suffix.lower() in AUDIO_SUFFIXES and p.name[:2] in ("01", "02", "03"))
    for path in files:
        parts = path.stem.split("-")
        if len(parts) != 7 or not all(p.isdigit() for p in parts):
            yield Rejected(path.stem, BAD_ROW, str(path),
                           "file name is not RAVDESS's MM-VV-EE-II-SS-RR-AA pattern; rename it")
            continue
        modality, channel, emotion, _intensity, statement, _rep, actor = parts
        if modality != "03" or channel != "01":
            continue  # video or song files: not part of the speech set
        if emotion not in EMOTIONS:
            yield Rejected(path.stem, BAD_ROW, str(path),
                           f"emotion code {emotion} is not 01..08")
            continue
        yield Source(
            id=path.stem, dataset="ravdess", emotion=EMOTIONS[emotion],
            speaker=f"actor_{actor}", gender="male" if int(actor) % 2 else "female",
            text=STATEMENTS.get(statement, ""), audio_path=str(path), origin=str(path),
        )
