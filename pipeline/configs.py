"""Typed pipeline configuration: one place for every knob, with named presets.

Presets bundle what differs between datasets (reader, label set, tasks that
make sense, clip duration, models). Everything else has one default here, so
a user changes a run by picking a preset and overriding a few fields, never by
editing constants spread over the code.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Optional, Sequence

TASKS = ("ter", "ser", "mer")
SPLIT_METHODS = ("random", "speaker", "kfold", "loso")
BEAM_MODES = ("in_memory", "multi_processing", "multi_threading")
# The team's real datasets sit beside a checkout (CI has them); a user's clone has none.
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
AUTO = "auto"  # features.duration_s value: chosen by the Transform from the clip lengths


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """How utterances are assigned to the train and eval splits."""

    method: str = "random"  # random | speaker | kfold | loso
    seed: int = 42
    test_fraction: float = 0.2
    n_folds: int = 5
    fold: int = 0
    eval_speakers: tuple[str, ...] = ()


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
    with_log_mel: bool = False  # frame features for 2D CNNs (bigger examples)
    tfidf_vocab_size: int = 2200
    tfidf_min_count: int = 2
    tfidf_ngrams: tuple[int, int] = (1, 2)
    stop_words: bool = False

    def __post_init__(self) -> None:
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


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Model choice and hyperparameters per task."""

    models: dict = dataclasses.field(
        default_factory=lambda: {"ter": "tfidf_dense", "ser": "dense", "mer": "tfidf+dense"}
    )
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    hidden_units: int = 128
    dropout: float = 0.5
    train_steps: Optional[int] = None  # None: epochs over the train split
    seed: int = 42
    # Early stopping watches a slice of the train split, never the eval split
    # (the eval split is what the gate and the reports measure).
    validation_fraction: float = 0.1
    early_stopping_patience: int = 15
    # Pretrained encoders: handle overrides (name -> URL or local path), see
    # components/trainer/models/hub_handles.py; `minilm` works offline.
    hub_handles: dict = dataclasses.field(default_factory=dict)
    fine_tune_encoders: bool = False
    seq_length: int = 128
    lstm_units: int = 64

    def model_hparams(self) -> dict:
        """What the model builders read (layer sizes, dropout, learning rate, hub settings).

        One definition for the Trainer, the experiments and the benchmarks, here rather than
        in the Trainer module so callers need not import TFX to get it.
        """
        return {"hidden_units": self.hidden_units, "dropout": self.dropout,
                "learning_rate": self.learning_rate, "hub_handles": dict(self.hub_handles),
                "fine_tune_encoders": self.fine_tune_encoders, "seq_length": self.seq_length,
                "lstm_units": self.lstm_units}


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """When the Evaluator blesses a model."""

    min_accuracy: float = 0.0  # absolute floor on the overall slice
    max_regression: float = 0.01  # allowed drop versus the last blessed model
    baseline_margin: float = 0.0  # model may trail the best baseline by this much
    baselines: tuple[str, ...] = ("linsvm", "rf", "mnb", "lr")


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    reader: str
    labels: tuple[str, ...]  # empty: inferred from the data (manifest preset)
    tasks: tuple[str, ...]
    description: str = ""
    reader_options: dict = dataclasses.field(default_factory=dict)
    require_text: bool = False
    require_audio: bool = False
    split: SplitConfig = SplitConfig()
    features: FeatureConfig = FeatureConfig()
    train: TrainConfig = TrainConfig()
    gate: GateConfig = GateConfig()

    def replace(self, **changes: Any) -> Preset:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Preset:
        raw = json.loads(text)
        raw["labels"] = tuple(raw["labels"])
        raw["tasks"] = tuple(raw["tasks"])
        split = raw["split"]
        split["eval_speakers"] = tuple(split["eval_speakers"])
        raw["split"] = SplitConfig(**split)
        feats = raw["features"]
        feats["audio_kinds"] = tuple(feats["audio_kinds"])
        feats["tfidf_ngrams"] = tuple(feats["tfidf_ngrams"])
        raw["features"] = FeatureConfig(**feats)
        raw["train"] = TrainConfig(**raw["train"])
        gate = raw["gate"]
        gate["baselines"] = tuple(gate["baselines"])
        raw["gate"] = GateConfig(**gate)
        return Preset(**raw)


RAVDESS_LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
EKMAN_LABELS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="demo",
            reader="manifest",
            labels=("neutral", "happy", "sad", "angry"),
            tasks=TASKS,
            description="Embedded synthetic corpus (text + speech); what `make demo` runs.",
            require_text=True,
            require_audio=True,
            split=SplitConfig(method="random"),
            features=FeatureConfig(duration_s=3.0, tfidf_vocab_size=500),
            # ~400 train / ~100 eval examples: no validation carve-out, and a small
            # margin because one eval example moves accuracy by 1 point.
            train=TrainConfig(
                models={"ter": "tfidf_dense", "ser": "cnn1d", "mer": "tfidf+dense"},
                dropout=0.3, validation_fraction=0.0),
            gate=GateConfig(min_accuracy=0.4, baseline_margin=0.03),
        ),
        Preset(
            name="ravdess",
            reader="ravdess",
            labels=RAVDESS_LABELS,
            tasks=("ser",),
            description="RAVDESS speech, 24 actors, 8 emotions (clips padded/trimmed to 3 s).",
            require_audio=True,
            features=FeatureConfig(duration_s=3.0),
        ),
        Preset(
            name="iemocap",
            reader="iemocap",
            labels=("neutral", "happy", "sad", "angry"),
            tasks=TASKS,
            description="IEMOCAP 4-class (excited merged into happy), 11 s clips.",
            require_text=True,
            require_audio=True,
            features=FeatureConfig(duration_s=11.0),
        ),
        Preset(
            name="psychexp",
            reader="psychexp",
            labels=("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"),
            tasks=("ter",),
            description="PsychExp texts (ISEAR), 7 emotions, random 80/20.",
            require_text=True,
            features=FeatureConfig(tfidf_min_count=4, stop_words=True),
        ),
        Preset(
            name="cremad",
            reader="cremad",
            labels=("neutral", "happy", "sad", "angry", "fearful", "disgust"),
            tasks=("ser",),
            description="CREMA-D speech, 91 actors, 6 emotions.",
            require_audio=True,
            split=SplitConfig(method="speaker"),
        ),
        Preset(
            name="tess",
            reader="tess",
            labels=("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
            tasks=("ser",),
            description="Toronto Emotional Speech Set, 2 speakers, 7 emotions.",
            require_audio=True,
            features=FeatureConfig(duration_s=2.0),
        ),
        Preset(
            name="goemotions",
            reader="goemotions",
            labels=EKMAN_LABELS,
            tasks=("ter",),
            description="GoEmotions Reddit comments mapped to Ekman 6 + neutral.",
            require_text=True,
        ),
        Preset(
            name="meld",
            reader="meld",
            labels=EKMAN_LABELS,
            tasks=("ter",),
            description="MELD (Friends) utterances; text only unless audio files are present.",
            require_text=True,
        ),
        Preset(
            name="manifest",
            reader="manifest",
            labels=(),
            tasks=TASKS,
            description="Any dataset described by a CSV/JSONL manifest (labels inferred).",
        ),
    )
}


def shared_dataset_root(preset: str) -> Optional[str]:
    """../shared/datasets/<preset> beside the repo when it exists, else None."""
    path = SHARED_DATASETS / preset
    return str(path) if path.is_dir() else None


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown preset {name!r}. Choose one of: {', '.join(sorted(PRESETS))}."
        ) from None


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Where a run reads and writes, and how Beam executes."""

    preset: Preset
    data_root: str
    output_dir: str
    beam_mode: str = "in_memory"
    beam_workers: int = 0  # 0: number of CPUs (multi_processing only)
    enable_cache: bool = True

    @property
    def pipeline_name(self) -> str:
        return f"mer-{self.preset.name}"

    @property
    def pipeline_root(self) -> str:
        return str(Path(self.output_dir) / "pipelines" / self.pipeline_name)

    @property
    def metadata_path(self) -> str:
        return str(Path(self.output_dir) / "metadata" / f"{self.pipeline_name}.sqlite")

    @property
    def serving_dir(self) -> str:
        return str(Path(self.output_dir) / "serving")

    def beam_pipeline_args(self) -> list[str]:
        if self.beam_mode not in BEAM_MODES:
            raise ValueError(f"--beam-mode must be one of {BEAM_MODES}, got {self.beam_mode!r}")
        args = [f"--direct_running_mode={self.beam_mode}"]
        if self.beam_mode == "in_memory":
            args.append("--direct_num_workers=1")
        else:
            args.append(f"--direct_num_workers={self.beam_workers}")
        return args


def validate_tasks(preset: Preset, tasks: Sequence[str]) -> tuple[str, ...]:
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"Unknown task(s) {unknown}; tasks are {TASKS}.")
    return tuple(tasks)
