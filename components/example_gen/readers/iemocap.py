"""IEMOCAP release layout, 4 classes (excited merged into happy).

`SessionN/dialog/EmoEvaluation/*.txt` holds the labels,
`SessionN/dialog/transcriptions/*.txt` the text and
`SessionN/sentences/wav/<dialog>/<utterance>.wav` the audio. Other labels
(frustration, surprise, xxx, ...) are listed as unknown_label rejections so
they are counted, as the reference dropped them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Union

from components.example_gen.contract import MISSING_FILE, UNKNOWN_LABEL, Rejected, Source

LABELS = {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"}
_EVAL_LINE = re.compile(r"^\[[\d.]+ - [\d.]+\]\t(\S+)\t(\S+)\t")
_TRANS_LINE = re.compile(r"^(\S+) \[[\d.]+-[\d.]+\]: ?(.*)$")


def _gender(utt_id: str) -> str:
    m = re.search(r"_([FM])\d+$", utt_id)
    return {"F": "female", "M": "male"}.get(m.group(1), "") if m else ""


def read(data_root: Path, **options) -> Iterator[Union[Source, Rejected]]:
    root = Path(data_root)
    for session in sorted(root.glob("Session*")):
        texts: dict[str, str] = {}
        for t in sorted(session.glob("dialog/transcriptions/*.txt")):
            for line in t.read_text(errors="replace").splitlines():
                m = _TRANS_LINE.match(line.strip())
                if m:
                    texts[m.group(1)] = m.group(2).strip()
        for ev in sorted(session.glob("dialog/EmoEvaluation/*.txt")):
            for n, line in enumerate(ev.read_text(errors="replace").splitlines(), 1):
                m = _EVAL_LINE.match(line)
                if not m:
                    continue
                utt, code = m.groups()
                origin = f"{ev}:{n}"
                if code not in LABELS:
                    yield Rejected(utt, UNKNOWN_LABEL, origin,
                                   f"label {code!r} is outside the 4-class set (neu, hap+exc, "
                                   f"sad, ang)")
                    continue
                dialog = utt.rsplit("_", 1)[0]
                wav = session / "sentences" / "wav" / dialog / f"{utt}.wav"
                if not wav.exists():
                    yield Rejected(utt, MISSING_FILE, origin, f"{wav} is missing")
                    continue
                gender = _gender(utt)
                number = int(re.sub(r"\D", "", session.name) or 0)
                speaker = f"Ses{number:02d}{gender[:1].upper()}"
                yield Source(id=utt, dataset="iemocap", emotion=LABELS[code],
                             speaker=speaker, gender=gender, text=texts.get(utt, ""),
                             audio_path=str(wav), origin=origin)
