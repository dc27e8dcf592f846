"""TESS: `OAF_back_angry.wav` / `YAF_...` (two female speakers, 7 emotions)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from components.example_gen.contract import BAD_ROW, Rejected, Source

EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fearful", "happy": "happy",
            "neutral": "neutral", "ps": "surprised", "pleasant_surprise": "surprised",
            "pleasant_surprised": "surprised", "sad": "sad"}


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    for path in sorted(Path(data_root).rglob("*.wav")):
        parts = path.stem.split("_", 2)
        if len(parts) != 3 or parts[0].upper() not in ("OAF", "YAF"):
            yield Rejected(path.stem, BAD_ROW, str(path),
                           "file name is not TESS's OAF_word_emotion / YAF_word_emotion")
            continue
        speaker, word, emotion = parts[0].upper(), parts[1], parts[2].lower()
        yield Source(id=path.stem, dataset="tess", emotion=EMOTIONS.get(emotion, emotion),
                     speaker=speaker, gender="female", text=f"Say the word {word}",
                     audio_path=str(path), origin=str(path))
