"""IEMOCAP release layout, the usual 4 classes (excited merged into happy).

Layout under the root (the `IEMOCAP_full_release` folder):
- `SessionN/dialog/EmoEvaluation/<dialog>.txt`: one line per utterance,
  `[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]`;
- `SessionN/dialog/transcriptions/<dialog>.txt`:
  `Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.`;
- `SessionN/sentences/wav/<dialog>/<utterance>.wav`.

Labels: neu -> neutral, hap and exc -> happy, sad, ang -> angry. Every other
label (fru, sur, fea, dis, oth, xxx) is listed as Rejected(unknown_label) so
the report counts what the 4-class protocol leaves out instead of hiding it.

The text files are read with `encoding` (UTF-8 by default): an evaluation line with a byte that
does not decode, or a NUL, quarantines that utterance (bad_encoding, bad_row), as does such a
line in its transcript; the rest of the session goes on.

The speaker is the session plus the gender letter of the utterance (the
letter before its 3-digit index: `..._F000` -> `Ses01F`): each session has
one female and one male actor, so a speaker split holds out whole actors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Union

from components.core.contract import MISSING_FILE, UNKNOWN_LABEL, Rejected, Source
from components.core.errors import MissingDataError
from components.example_gen.readers import text_file

DATASET = "iemocap"
LABELS = {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"}
GENDERS = {"F": "female", "M": "male"}
_EVAL_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(\S+)\s+(\S+)")
_TRANS_LINE = re.compile(r"^(\S+)\s+\[[\d.]+\s*-\s*[\d.]+\]:\s?(.*)$")
_GENDER = re.compile(r"_([FM])\d{3}$")


def _transcripts(session: Path, encoding: str
                 ) -> tuple[dict[str, str], dict[str, tuple[str, text_file.Problem]]]:
    """(utterance -> text, utterance -> (where, problem) for transcript lines that are bad)."""
    texts: dict[str, str] = {}
    bad: dict[str, tuple[str, text_file.Problem]] = {}
    for path in sorted(session.glob("dialog/transcriptions/*.txt")):
        for line in text_file.read_lines(path, encoding):
            m = _TRANS_LINE.match(line.text.strip())
            if m and line.problem:
                bad[m.group(1)] = (f"{path}:{line.number}", line.problem)
            elif m:
                texts[m.group(1)] = m.group(2).strip()
    return texts, bad


def read(data_root: Path, encoding: str = text_file.DEFAULT_ENCODING, **options
         ) -> Iterator[Union[Source, Rejected]]:
    """Lists every evaluated utterance of every session found under the root."""
    root = Path(data_root)
    sessions = sorted(p for p in root.glob("Session*") if p.is_dir())
    if not sessions:
        raise MissingDataError(
            f"No Session1..Session5 folders under {root}; point --data-root at "
            f"IEMOCAP_full_release (the folder holding Session1/dialog/EmoEvaluation).")
    for session in sessions:
        number = int(re.sub(r"\D", "", session.name) or 0)
        texts, bad_texts = _transcripts(session, encoding)
        for ev in sorted(session.glob("dialog/EmoEvaluation/*.txt")):
            for line in text_file.read_lines(ev, encoding):
                n, origin = line.number, f"{ev}:{line.number}"
                m = _EVAL_LINE.match(line.text)
                if line.problem and (m or line.text.startswith("[")):
                    yield Rejected(m.group(1) if m else f"{ev.stem}:{n}", line.problem.reason,
                                   origin, f"{ev.name} {line.problem.detail}")
                    continue
                if not m:
                    continue  # headers, per-evaluator lines (C-E1:, A-E2:, ...), blanks
                utt, code = m.groups()
                if utt in bad_texts:
                    where, problem = bad_texts[utt]
                    yield Rejected(utt, problem.reason, where, f"transcript {problem.detail}")
                    continue
                if code not in LABELS:
                    yield Rejected(utt, UNKNOWN_LABEL, origin,
                                   f"label {code!r} is outside the 4-class set (neu, hap+exc, "
                                   f"sad, ang); expected for IEMOCAP, nothing to fix")
                    continue
                wav_dir = session / "sentences" / "wav"
                wav = wav_dir / ev.stem / f"{utt}.wav"
                if not wav.is_file():  # evaluation file renamed: the dialog is in the id
                    wav = wav_dir / utt.rsplit("_", 1)[0] / f"{utt}.wav"
                if not wav.is_file():
                    yield Rejected(utt, MISSING_FILE, origin,
                                   f"{wav} is missing; restore it from the IEMOCAP release")
                    continue
                g = _GENDER.search(utt)
                letter = g.group(1) if g else ""
                yield Source(
                    id=utt,
                    dataset=DATASET,
                    emotion=LABELS[code],
                    speaker=f"Ses{number:02d}{letter}",
                    gender=GENDERS.get(letter, ""),
                    text=texts.get(utt, ""),
                    audio_path=str(wav),
                    origin=origin,
                )
