"""RAVDESS speech: `Actor_XX/03-01-EE-II-SS-RR-AA.(wav|flac)`.

Every field comes from the file name: modality (03 = audio only), vocal
channel (01 = speech, 02 = song), emotion, intensity, statement, repetition,
actor. Only the speech set is listed: song files (vocal channel 02) and
video-derived files (modality 01/02) are skipped silently because they are a
different task, not bad data. Files are found anywhere below the root, so
both the per-actor zip layout and a flat folder work, and the 48 kHz WAV
originals and 16 kHz FLAC copies are both accepted.

Odd actors are male, even actors female. The text is the statement actually
spoken; it is the transcript and carries no emotion (each statement is said
in every emotion), which is why RAVDESS is a speech-only preset.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Union

from components.core.contract import BAD_ROW, Rejected, Source
from components.core.errors import MissingDataError
from components.example_gen.readers import text_file

DATASET = "ravdess"
EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
            "06": "fearful", "07": "disgust", "08": "surprised"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
AUDIO_SUFFIXES = (".wav", ".flac")
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_FIX = "RAVDESS names are MM-VV-EE-II-SS-RR-AA (e.g. 03-01-05-01-01-01-01); rename or remove it"


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    """Lists the speech clips; names that do not parse are Rejected(bad_row)."""
    root = Path(data_root)
    files = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise MissingDataError(
            f"No .wav or .flac files under {root}; point --data-root at the RAVDESS folder "
            f"holding Actor_01 .. Actor_24.")
    for path in files:
        origin = str(path)
        bad_name = text_file.path_problem(path)
        if bad_name:
            yield Rejected(text_file.shown(path.stem), bad_name.reason, text_file.shown(origin),
                           bad_name.detail)
            continue
        m = _NAME.match(path.stem)
        if not m:
            yield Rejected(path.stem, BAD_ROW, origin,
                           f"{path.name}: file name does not parse; {_FIX}")
            continue
        modality, channel, emotion, intensity, statement, _rep, actor = m.groups()
        if modality != "03" or channel != "01":
            continue  # video-derived or song file: not part of the speech set
        problems = []
        if emotion not in EMOTIONS:
            problems.append(f"emotion code {emotion} is not 01..08")
        if intensity not in ("01", "02") or (intensity == "02" and emotion == "01"):
            problems.append(f"intensity code {intensity} is not valid for emotion {emotion}")
        if statement not in STATEMENTS:
            problems.append(f"statement code {statement} is not 01 or 02")
        if not 1 <= int(actor) <= 24:
            problems.append(f"actor {actor} is not 01..24")
        if problems:
            yield Rejected(path.stem, BAD_ROW, origin,
                           f"{path.name}: {'; '.join(problems)}; {_FIX}")
            continue
        yield Source(
            id=path.stem,
            dataset=DATASET,
            emotion=EMOTIONS[emotion],
            speaker=f"actor_{actor}",
            gender="male" if int(actor) % 2 else "female",
            text=STATEMENTS[statement],
            audio_path=origin,
            origin=origin,
        )
