"""Does an input carry anything a model can read? One rule for text without words and audio
without sound, used by every serving path (`serving.client.EmotionClient`, so in-process, REST
and gRPC alike, and the web app and its page through it).

Why a rule: a model answers whatever it is given. Text that is only NUL bytes, emoji, "." or
a zero-width space reaches TER as an empty token sequence and gets the model's prior ("sad
0.283" every time); 3 s of digital silence gets "happy 0.767" from SER. Neither says anything
about the speaker, so the honest reply is no emotion at all, with the reason, rather than a
confident-looking guess. The decision (docs/serving.md, "Input without signal"):

* text carries signal when it holds at least one letter (Unicode category L*: any script);
  digits, punctuation, symbols, emoji, controls and format characters alone do not;
* audio carries signal when some sample is louder than digital silence: a peak above
  `SILENCE_PEAK` 16-bit steps (~-80 dBFS; a real recording's noise floor is far above it).
"""

from __future__ import annotations

import io
import unicodedata
from typing import Optional

import numpy as np
import soundfile as sf

#: Largest |sample| (16-bit steps) still counted as digital silence: 0 is true silence, 1-3
#: steps are rounding/dither of a silent source.
SILENCE_PEAK = 3
#: The status / error code for an input without signal (web API, metrics, docs).
NO_SIGNAL = "no_signal"


def text_problem(text: str | bytes) -> Optional[str]:
    """Why `text` carries no signal (a sentence), or None if it holds a letter.

    Empty or whitespace-only text is not judged here: the exported models refuse it themselves
    ("text is empty", `components/trainer/export.py`), as TF Serving would."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text.strip() or any(unicodedata.category(ch).startswith("L") for ch in text):
        return None
    return ("the text has no letters (only digits, punctuation, symbols, emoji or invisible "
            "characters), so there are no words to read an emotion from")


def audio_problem(wav: bytes) -> Optional[str]:
    """Why `wav` (WAV bytes) carries no signal, or None if it is louder than digital silence.

    Only the models' format (16-bit PCM WAV) is judged; other bytes are left to the model's
    own decoder, which refuses them with its reason."""
    try:
        with sf.SoundFile(io.BytesIO(wav)) as f:
            if (f.format, f.subtype) != ("WAV", "PCM_16"):
                return None  # not the models' format: their decoder refuses it, saying so
            samples = f.read(dtype="int16")
    except Exception:  # noqa: BLE001 - not readable: left to the model's decoder
        return None
    if samples.size == 0:
        return None
    peak = int(np.abs(samples.astype(np.int32)).max())
    if peak > SILENCE_PEAK:
        return None
    return (f"the audio is digital silence (peak {peak} of 32767), so there is no voice to "
            f"read an emotion from")


def input_problem(name: str, value: str | bytes) -> Optional[str]:
    """`text_problem` or `audio_problem` for the model input called `name`."""
    return text_problem(value) if name == "text" else audio_problem(bytes(value))
