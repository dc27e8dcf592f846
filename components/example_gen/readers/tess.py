"""TESS: `OAF_back_angry.wav`, `YAF_dog_ps.wav`, ... anywhere below the root.

The name is SPEAKER_WORD_EMOTION: two female speakers (OAF older, YAF
younger) each say "Say the word <word>" in 7 emotions. The text is that
carrier phrase; it carries no emotion. Pleasant surprise appears as `ps`,
`pleasant_surprise` or `pleasant_surprised` depending on the copy, and all
map to "surprised". Case is ignored (copies differ there too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from components.core.contract import BAD_ROW, UNKNOWN_LABEL, Rejected, Source
from components.core.errors import MissingDataError
from components.example_gen.readers import text_file

DATASET = "tess"
SPEAKERS = ("OAF", "YAF")
EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fearful", "happy": "happy",
            "neutral": "neutral", "ps": "surprised", "pleasant_surprise": "surprised",
            "pleasant_surprised": "surprised", "sad": "sad"}
AUDIO_SUFFIXES = (".wav", ".flac")


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    """Lists every TESS clip below the root."""
    root = Path(data_root)
    files = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise MissingDataError(
            f"No .wav or .flac files under {root}; point --data-root at the TESS folder "
            f"(the one holding OAF_angry/, YAF_angry/, ...).")
    for path in files:
        origin = str(path)
        bad_name = text_file.path_problem(path)
        if bad_name:
            yield Rejected(text_file.shown(path.stem), bad_name.reason, text_file.shown(origin),
                           bad_name.detail)
            continue
        parts = path.stem.split("_", 2)
        if len(parts) != 3 or parts[0].upper() not in SPEAKERS or not parts[1]:
            yield Rejected(path.stem, BAD_ROW, origin,
                           f"{path.name}: TESS names are OAF_word_emotion or YAF_word_emotion; "
                           f"rename or remove it")
            continue
        speaker, word, emotion = parts[0].upper(), parts[1].lower(), parts[2].lower()
        if emotion not in EMOTIONS:
            yield Rejected(path.stem, UNKNOWN_LABEL, origin,
                           f"{path.name}: emotion {emotion!r} is not one of "
                           f"{sorted(EMOTIONS)}; rename the file or remove it")
            continue
        yield Source(
            id=path.stem,
            dataset=DATASET,
            emotion=EMOTIONS[emotion],
            speaker=speaker,
            gender="female",
            text=f"Say the word {word}",
            audio_path=origin,
            origin=origin,
        )
