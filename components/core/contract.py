"""The one data contract every reader writes and every later stage reads.

A dataset reader never builds a tf.Example itself: it yields `Source` rows
(cheap metadata, no decoded audio) or `Rejected` rows, and `load_source`
turns a Source into an `Utterance` (decoding and resampling the audio). This
split lets the listing run in the driver (to assign stratified or
speaker-disjoint splits over the whole dataset) while decoding, the expensive
part, runs in parallel on Beam workers.

See docs/data-contract.md for the field-by-field description.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from components.core import errors

SAMPLE_RATE = 16_000

# Feature names in the serialized tf.Example.
ID = "id"
DATASET = "dataset"
SPEAKER = "speaker"
GENDER = "gender"
TEXT = "text"
AUDIO = "audio"
LABEL = "label"
EMOTION = "emotion"
DURATION_S = "duration_s"

STRING_FEATURES = (ID, DATASET, SPEAKER, GENDER, TEXT, EMOTION)
BYTES_FEATURES = (AUDIO,)

# Quarantine reasons: a fixed vocabulary so reports can be counted and compared.
MISSING_FILE = "missing_file"
UNREADABLE_AUDIO = "unreadable_audio"
TRUNCATED_AUDIO = "truncated_audio"
EMPTY_AUDIO = "empty_audio"
EMPTY_TEXT = "empty_text"
UNKNOWN_LABEL = "unknown_label"
BAD_ROW = "bad_row"  # a row that does not parse (or a NUL, a bad name, a bad field)
BAD_ENCODING = "bad_encoding"  # a byte the file's encoding cannot decode (or not UTF-8 at all)
DUPLICATE_ID = "duplicate_id"  # a second record with an id already listed; the first is kept
# The dataset-defined splits a reader may set on a Source (`Source.split`).
DATASET_SPLITS = ("train", "dev", "test")
REASONS = (
    MISSING_FILE,
    UNREADABLE_AUDIO,
    TRUNCATED_AUDIO,
    EMPTY_AUDIO,
    EMPTY_TEXT,
    UNKNOWN_LABEL,
    BAD_ROW,
    BAD_ENCODING,
    DUPLICATE_ID,
)


def normalise_label(label: str) -> str:
    """A label as compared and stored: lower case, inner whitespace collapsed, none around it.

    Why: `HAPPY`, `happy` and ` happy` typed in one manifest are one class; taking them as
    typed would train three. Every label a reader lists goes through this (ingest.list_dataset),
    and preset label sets must already be in this form (config check), so a label outside the
    set is an `unknown_label`, never a near-miss of one.
    """
    return " ".join(label.split()).lower()


@dataclasses.dataclass(frozen=True)
class Source:
    """One utterance as listed by a reader, before its audio is decoded.

    `emotion` is the dataset's label already mapped to the preset's canonical
    emotion name (e.g. IEMOCAP "exc" -> "happy"); `load_source` checks it
    against the preset's label set.
    """

    id: str
    dataset: str
    emotion: str
    speaker: str = ""
    gender: str = ""  # "female", "male" or "" when unknown
    text: str = ""
    audio_path: Optional[str] = None  # None for text-only datasets
    origin: str = ""  # file (and row) the record came from, for error reports
    # The dataset's own assignment, where it ships one ("train", "dev" or "test"): what the
    # `predefined` split method follows (MELD, GoEmotions, PsychExp's DeepMoji indices).
    split: str = ""


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A record that could not become an Utterance, with the reason and the fix."""

    id: str
    reason: str  # one of REASONS
    origin: str  # file (and row) it came from
    detail: str  # human-readable: what was wrong and how to fix it


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One record of the contract: what is serialized as a tf.Example."""

    id: str
    dataset: str
    speaker: str
    gender: str
    text: str
    audio: bytes  # 16 kHz mono 16-bit PCM WAV bytes; b"" for text-only sets
    label: int
    emotion: str
    duration_s: float


# The user's data cannot be used as given: defined with the other user errors (core/errors.py).
DataError = errors.DataError


class InvalidInput(Exception):
    """Raised while loading a Source; carries a quarantine reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
