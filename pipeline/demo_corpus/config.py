"""What defines a demo corpus: its labels, file names and the generator's knobs."""

from __future__ import annotations

import dataclasses

from components.core.contract import SAMPLE_RATE

#: Emotion labels, in the order the demo preset lists them.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry")

#: Bump whenever the generator's output changes for an unchanged config, so that existing
#: corpora on disk are regenerated instead of silently reused.
GENERATOR_VERSION = 1

MANIFEST_NAME = "manifest.csv"
METADATA_NAME = "corpus.json"
MANIFEST_COLUMNS: tuple[str, ...] = ("id", "audio_path", "text", "emotion", "speaker", "gender")


@dataclasses.dataclass(frozen=True)
class DemoCorpusConfig:
    """Everything that defines a demo corpus; equal configs give byte-identical corpora.

    Frozen and JSON-serialisable because it is stored in ``corpus.json`` and compared on the
    next call to decide whether the corpus on disk can be reused.

    ``text_noise`` is the probability that a low-arousal (neutral or sad) utterance uses plain
    wording shared by both classes; a fifth of it is the probability that a happy/angry one
    carries only shared arousal words. ``audio_noise`` scales per-utterance prosodic randomness
    (pitch, rate, loudness, voice quality) and the background noise level; 0 gives textbook
    prototypes. The defaults are tuned so that, with simple models on the default corpus, text
    and audio alone each reach ~70-75% and their fusion ~85-90% (``benchmarks/demo_corpus.py``).
    """

    n_speakers: int = 8
    utterances_per_class_per_speaker: int = 16  # 512 clips: ~100 eval examples
    duration_s: tuple[float, float] = (1.5, 3.0)
    sample_rate: int = SAMPLE_RATE
    seed: int = 0
    text_noise: float = 0.6
    audio_noise: float = 0.7

    def __post_init__(self) -> None:
        if self.n_speakers < 1 or self.utterances_per_class_per_speaker < 1:
            raise ValueError("n_speakers and utterances_per_class_per_speaker must be >= 1")
        lo, hi = self.duration_s
        if not 0.5 <= lo <= hi:
            raise ValueError(f"duration_s must satisfy 0.5 <= lo <= hi, got {self.duration_s}")
        if self.sample_rate < 8000:
            raise ValueError("sample_rate must be >= 8000 (formants reach ~4 kHz)")
        if not 0.0 <= self.text_noise <= 1.0:
            raise ValueError("text_noise must be in [0, 1]")
        if self.audio_noise < 0.0:
            raise ValueError("audio_noise must be >= 0")
        # Normalise so a config read back from JSON (lists) compares equal to the original.
        object.__setattr__(self, "duration_s", (float(lo), float(hi)))

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"duration_s": list(self.duration_s)}

    @classmethod
    def from_json(cls, raw: dict) -> DemoCorpusConfig:
        return cls(**{**raw, "duration_s": tuple(raw["duration_s"])})

    @property
    def n_utterances(self) -> int:
        return self.n_speakers * self.utterances_per_class_per_speaker * len(EMOTIONS)
