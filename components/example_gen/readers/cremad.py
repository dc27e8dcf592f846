"""CREMA-D: `AudioWAV/1001_DFA_ANG_XX.wav` (or `audio/`, `.flac`) + `VideoDemographics.csv`.

The file name is ACTOR_SENTENCE_EMOTION_LEVEL. Audio files are found
anywhere below the root; a name that does not parse is Rejected(bad_row).
Gender comes from `VideoDemographics.csv` (ActorID, Age, Sex, ...), found
anywhere below the root (the release keeps it at the top, copies often in
`metadata/`); without it gender is "". The text is the sentence the code
stands for (12 fixed sentences, spoken in every emotion, so it carries no
emotion).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Union

from components.core.contract import BAD_ROW, Rejected, Source
from components.core.errors import MissingDataError
from components.example_gen.readers import text_file

DATASET = "cremad"
EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy",
            "NEU": "neutral", "SAD": "sad"}
SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
LEVELS = ("LO", "MD", "HI", "XX")
AUDIO_SUFFIXES = (".wav", ".flac")
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_FIX = "CREMA-D names are ACTOR_SENTENCE_EMOTION_LEVEL (e.g. 1001_DFA_ANG_XX); rename or remove it"


def _genders(root: Path, encoding: str) -> dict[str, str]:
    """ActorID -> "female"/"male" from the first VideoDemographics.csv below the root; a row
    that does not read leaves its actor's gender unknown ("")."""
    for path in sorted(root.rglob("VideoDemographics.csv")):
        _columns, rows = text_file.csv_dicts(path, encoding)
        return {(row.get("ActorID") or "").strip(): (row.get("Sex") or "").strip().lower()
                for _n, _rec, row in rows if row is not None}
    return {}


def read(data_root: Path, encoding: str = text_file.DEFAULT_ENCODING, **options
         ) -> Iterator[Union[Source, Rejected]]:
    """Lists every CREMA-D clip below the root."""
    root = Path(data_root)
    files = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise MissingDataError(
            f"No .wav or .flac files under {root}; point --data-root at the CREMA-D folder "
            f"holding AudioWAV/.")
    genders = _genders(root, encoding)
    for path in files:
        origin = str(path)
        bad_name = text_file.path_problem(path)
        if bad_name:
            yield Rejected(text_file.shown(path.stem), bad_name.reason, text_file.shown(origin),
                           bad_name.detail)
            continue
        m = _NAME.match(path.stem)
        problem = "file name does not parse"
        if m:
            actor, sentence, emotion, level = m.groups()
            problem = "; ".join(
                msg for bad, msg in (
                    (sentence not in SENTENCES, f"sentence code {sentence} is unknown"),
                    (emotion not in EMOTIONS, f"emotion code {emotion} is not one of "
                                              f"{', '.join(EMOTIONS)}"),
                    (level not in LEVELS, f"level {level} is not one of {', '.join(LEVELS)}"),
                ) if bad)
        if problem:
            yield Rejected(path.stem, BAD_ROW, origin, f"{path.name}: {problem}; {_FIX}")
            continue
        sex = genders.get(actor, "")
        yield Source(
            id=path.stem,
            dataset=DATASET,
            emotion=EMOTIONS[emotion],
            speaker=actor,
            gender=sex if sex in ("female", "male") else "",
            text=SENTENCES[sentence],
            audio_path=origin,
            origin=origin,
        )
