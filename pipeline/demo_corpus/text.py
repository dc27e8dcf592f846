"""The demo corpus's sentences: valence in the wording, low-arousal classes often alike.

Happy and angry wording is well separated by cue words; neutral and sad utterances often share
plain, cue-free wording, so text alone confuses them (the speech is built to tell them apart).
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------

# Emotion-free content: what the utterance is "about". Shared by all classes.
_SUBJECTS = ("I", "we", "my sister", "the team", "our neighbour", "my friend", "they", "he",
             "she", "the manager")
_EVENTS = (
    "called about the delivery", "moved the meeting to thursday", "took the early train",
    "finished the report", "checked the schedule", "went to the market", "read the letter",
    "fixed the old bike", "painted the kitchen", "cancelled the trip", "opened the parcel",
    "talked to the landlord", "visited the old house", "looked at the results",
    "sold the car", "came back from the hospital", "got the message", "cleaned the garage",
    "watched the game", "walked home in the rain",
)
_TIMES = ("yesterday", "this morning", "last week", "today", "on monday", "after lunch",
          "tonight", "again", "at last", "")
_FILLERS = ("", "", "", "well,", "so,", "um,", "you know,", "honestly,", "okay,", "anyway,")

# Clear lexical cues per emotion.
_CUES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "as planned", "nothing special about it", "it was fine", "that is all for now",
        "as usual", "it is on the list", "we will see", "noted", "that is the update",
        "same as always",
    ),
    "happy": (
        "and it was wonderful", "I am so glad", "this is great news", "I love it",
        "what a fantastic day", "I am thrilled", "it made me smile", "best day ever",
        "I feel amazing", "we were delighted",
    ),
    "sad": (
        "and I miss it so much", "I feel so empty", "I cried all night", "it is hopeless",
        "I feel so alone", "it broke my heart", "nothing will be the same", "I am so sorry",
        "it hurts", "I just feel lost",
    ),
    "angry": (
        "and it is unacceptable", "I am so fed up", "this is ridiculous", "I hate it",
        "what an outrageous mess", "I am furious", "it drives me mad", "worst day ever",
        "I am sick of it", "they ruined everything",
    ),
}
# Ambiguous wording shared across classes: arousal without valence (happy/angry) and plain
# low-energy remarks (neutral/sad). These are what make text alone imperfect.
_HIGH_AROUSAL = ("I cannot believe it", "seriously", "wow, really", "this is so intense",
                 "oh my god", "I can't stop thinking about it", "no way")
_LOW_AROUSAL = ("I guess", "I don't know", "it is what it is", "I am a bit tired",
                "nothing much to say", "I suppose so", "it was quiet", "anyway")


def make_text(rng: np.random.Generator, emotion: str, text_noise: float) -> str:
    """One template sentence: optional filler, neutral content, then an emotion (or shared) cue.

    Low-arousal classes fall back to shared wording with probability ``text_noise``;
    high-arousal ones with ``text_noise / 5``, so text confuses neutral/sad far more often than
    happy/angry — the complement of what audio confuses.
    """
    filler = str(rng.choice(_FILLERS))
    subject = str(rng.choice(_SUBJECTS))
    event = str(rng.choice(_EVENTS))
    when = str(rng.choice(_TIMES))
    high = emotion in ("happy", "angry")
    p_shared = text_noise / 5.0 if high else text_noise
    if rng.random() < p_shared:
        cue = str(rng.choice(_HIGH_AROUSAL if high else _LOW_AROUSAL))
    else:
        cue = str(rng.choice(_CUES[emotion]))
    core = " ".join(w for w in (subject, event, when) if w)
    if rng.random() < 0.5:
        sentence = f"{core}, {cue}"
    else:
        sentence = f"{cue}, {core}"
    if filler:
        sentence = f"{filler} {sentence}"
    sentence = sentence[0].upper() + sentence[1:]
    end = "!" if high and rng.random() < 0.6 else "."
    return sentence + end
