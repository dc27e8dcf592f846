"""The typed configuration schema: what a run can be told, its validation and serialisation.

The named instances (presets) and where a run reads and writes (`RunConfig`) live in
`pipeline/configs.py`; this module only defines the shape, so every layer (components, serving,
the application) can read a configuration without importing the pipeline.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Optional, Sequence

from components.core.contract import normalise_label
from components.core.errors import ConfigurationError
from components.core.feature_config import (  # noqa: F401 - part of the schema's namespace
    AUDIO_SCALINGS,
    AUDIO_STATS,
    AUTO,
    FeatureConfig,
)
from components.core.model_names import BASELINES, MODEL_NAMES, is_model_name
from components.core.tasks import TASKS

SPLIT_METHODS = ("random", "speaker", "kfold", "loso", "predefined")
SCHEDULES = ("constant", "cosine", "one_cycle")
AUGMENTATIONS = ("time_shift", "gain", "spec_mask", "speed", "tempo", "pitch", "vtlp", "noise",
                 "mixup")
VALIDATION_SPLITS = ("rows", "speakers")  # components/core/carve_out.py


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """How utterances are assigned to the train and eval splits."""

    method: str = "random"  # random | speaker | kfold | loso | predefined
    seed: int = 42
    test_fraction: float = 0.2
    n_folds: int = 5
    fold: int = 0
    eval_speakers: tuple[str, ...] = ()


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
    # What the carve-out holds out: "rows" (every k-th train row) or "speakers" (whole train
    # speakers, so early stopping rewards what transfers to voices the model has not heard).
    validation_split: str = "rows"
    early_stopping_patience: int = 15
    # Pretrained encoders: handle overrides (name -> URL or local path), see
    # components/trainer/models/hub_handles.py; `minilm` works offline.
    hub_handles: dict = dataclasses.field(default_factory=dict)
    fine_tune_encoders: bool = False
    # With fine_tune_encoders: how many of the encoder's top transformer blocks learn (0: all,
    # embeddings included). The frozen blocks still run forward but need no gradients or
    # optimizer state, which is what makes a BERT-base-sized encoder affordable on CPU.
    fine_tune_layers: int = 0
    seq_length: int = 128
    lstm_units: int = 64
    # Regularisation and schedule (components/trainer/fit.py): "constant", "cosine" (decay to 0
    # over the run) or "one_cycle" (warm-up to learning_rate over 30% of the steps, then cosine).
    schedule: str = "constant"
    label_smoothing: float = 0.0
    # Training-time augmentation in tf.data (components/trainer/augment.py), applied to the
    # transformed features the model reads: "time_shift", "gain", "spec_mask" (SpecAugment time
    # and frequency masks) and the voice changes "speed", "tempo", "pitch", "vtlp" on log-mel
    # frames; "noise" on utterance vectors; "mixup" on any.
    augment: tuple[str, ...] = ()
    mixup_alpha: float = 0.2
    # Train this many copies with seeds seed, seed+1, ... and export their average as one
    # model (an ensemble of seeds inside one graph); 1 trains a single model.
    ensemble_size: int = 1
    # Batch texts of similar length together (buckets of 4 words of `text_raw`, batches in
    # random order): a text encoder computes over each batch's longest text, so grouping
    # makes a MiniLM-L6 epoch on PsychExp 1.46x faster (texts average 29 tokens, a random
    # batch's longest 62). Only models that read `text_raw`; the others ignore it.
    group_by_length: bool = False
    # Per-task changes to the fields above, e.g. {"ter": {"learning_rate": 5e-5}}: a preset
    # with several tasks (IEMOCAP) fine-tunes a text encoder gently and trains a speech MLP
    # fast. `for_task(task)` is the configuration the task's Trainer uses.
    task_overrides: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "augment", tuple(self.augment))
        if self.schedule not in SCHEDULES:
            raise ValueError(f"train.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(f"train.augment: unknown augmentation(s) {unknown}; choose from "
                             f"{AUGMENTATIONS}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"train.label_smoothing must be in [0, 1), got "
                             f"{self.label_smoothing}")
        if self.fine_tune_layers < 0:
            raise ValueError(f"train.fine_tune_layers must be >= 0 (0: every layer), got "
                             f"{self.fine_tune_layers}")
        if self.ensemble_size < 1:
            raise ValueError(f"train.ensemble_size must be >= 1, got {self.ensemble_size}")
        for task, changes in self.task_overrides.items():
            unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)}
                             | ({"models", "task_overrides"} & set(changes)))
            if unknown:
                raise ValueError(f"train.task_overrides.{task}: {unknown} cannot be set per task "
                                 f"(per-task fields: the TrainConfig fields but models)")

    def for_task(self, task: str) -> TrainConfig:
        """This configuration with `task_overrides[task]` applied (what that Trainer uses)."""
        changes = dict(self.task_overrides.get(task, {}))
        if "augment" in changes:
            changes["augment"] = tuple(changes["augment"])
        return dataclasses.replace(self, task_overrides={}, **changes)

    def model_hparams(self) -> dict:
        """What the model builders read (layer sizes, dropout, learning rate, hub settings).

        One definition for the Trainer, the experiments and the benchmarks, here rather than
        in the Trainer module so callers need not import TFX to get it.
        """
        return {"hidden_units": self.hidden_units, "dropout": self.dropout,
                "learning_rate": self.learning_rate, "hub_handles": dict(self.hub_handles),
                "fine_tune_encoders": self.fine_tune_encoders,
                "fine_tune_layers": self.fine_tune_layers, "seq_length": self.seq_length,
                "lstm_units": self.lstm_units}


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """When the Evaluator blesses a model."""

    min_accuracy: float = 0.0  # absolute floor on the overall slice
    max_regression: float = 0.01  # allowed drop versus the last blessed model
    baseline_margin: float = 0.0  # model may trail the best baseline by this much
    baselines: tuple[str, ...] = BASELINES


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

    def __post_init__(self) -> None:
        _check_preset(self)

    def replace(self, **changes: Any) -> Preset:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return self.part_json(*field_names(Preset))

    @staticmethod
    def from_json(text: str) -> Preset:
        return from_dict(Preset, json.loads(text))

    def part_json(self, *fields: str) -> str:
        """The named top-level fields only, as JSON: what one component is given.

        Why parts: TFX keys its cache on a component's parameters, so a component handed the
        whole preset reruns whenever any field changes (an epoch count rerunning ingestion).
        Handed only the fields it reads, it reruns exactly when one of those changes.
        """
        unknown = sorted(set(fields) - set(field_names(Preset)))
        if unknown:
            raise ValueError(f"Preset has no field(s) {unknown}")
        return json.dumps({f: to_dict(getattr(self, f)) for f in fields}, sort_keys=True)


class PresetPart:
    """Some fields of a Preset, read back from `Preset.part_json` (attribute access as a Preset).

    Reading a field the part does not carry raises, naming the fields it does carry: a
    component can then never depend on configuration that is not in its cache key.
    """

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    @staticmethod
    def from_json(text: str) -> PresetPart:
        raw = json.loads(text)
        hints = _hints(Preset)
        unknown = sorted(set(raw) - set(hints))
        if unknown:
            raise ValueError(f"Preset has no field(s) {unknown}")
        _check_keys(Preset, raw, "")
        return PresetPart({k: _adapter(hints[k]).validate_python(v) for k, v in raw.items()})

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(sorted(self._values))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"this component's configuration part has no {name!r} (it carries "
                f"{', '.join(self.fields)}); add the field to the part the pipeline gives it"
            ) from None


class ConfigError(ConfigurationError):
    """A bad value in the configuration; `key` is its dotted path (e.g. `train.epochs`)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(key, message)


def _check_preset(p: Preset) -> None:
    """Bad values fail where a preset is made (code or config file), naming the key."""
    _check(bool(p.name), "name", "must be a non-empty name")
    _check(bool(p.tasks), "tasks", f"needs at least one of {', '.join(TASKS)}")
    for t in p.tasks:
        _check(t in TASKS, "tasks", f"unknown task {t!r}; tasks are {', '.join(TASKS)}")
    _check(len(set(p.labels)) == len(p.labels) and all(lab == normalise_label(lab) for lab in
           p.labels), "labels", f"must be distinct, lower case, trimmed: {list(p.labels)}")
    s = p.split
    _check(s.method in SPLIT_METHODS, "split.method",
           f"must be one of {', '.join(SPLIT_METHODS)}, got {s.method!r}")
    _check(0 < s.test_fraction < 1, "split.test_fraction",
           f"is a share of the data in (0, 1), got {s.test_fraction}")
    _check(s.n_folds >= 2, "split.n_folds", f"must be at least 2, got {s.n_folds}")
    _check(s.fold >= 0, "split.fold", f"must be 0 or more, got {s.fold}")
    _check_train(p.train, p.tasks)
    g = p.gate
    _check(0 <= g.min_accuracy <= 1, "gate.min_accuracy", f"is in [0, 1], got {g.min_accuracy}")
    _check(g.max_regression >= 0, "gate.max_regression", f"must be 0 or more, got "
           f"{g.max_regression}")
    _check(g.baseline_margin >= 0, "gate.baseline_margin", f"must be 0 or more, got "
           f"{g.baseline_margin}")
    _check(bool(g.baselines), "gate.baselines", f"needs at least one of {', '.join(BASELINES)}")
    for b in g.baselines:
        _check(b in BASELINES, "gate.baselines",
               f"unknown baseline {b!r}; baselines are {', '.join(BASELINES)}")
    f = p.features
    lo, hi = tuple(f.tfidf_ngrams)
    _check(1 <= lo <= hi, "features.tfidf_ngrams", f"is (min n, max n) with 1 <= min <= max, "
           f"got {list(f.tfidf_ngrams)}")
    _check(f.tfidf_vocab_size >= 1, "features.tfidf_vocab_size",
           f"must be at least 1, got {f.tfidf_vocab_size}")


def _check_train(t: TrainConfig, tasks: Sequence[str]) -> None:
    for task in tasks:
        _check(task in t.models, "train.models",
               f"names no model for task {task!r}; e.g. {task}: {MODEL_NAMES[task][0]}")
    for task, name in t.models.items():
        _check(task in TASKS, f"train.models.{task}", f"unknown task; tasks are "
               f"{', '.join(TASKS)}")
        _check(is_model_name(task, name), f"train.models.{task}",
               f"unknown {task} model {name!r}; models: {', '.join(MODEL_NAMES[task])}"
               + (" (or any TEXT+AUDIO pair of TER and SER encoders)" if task == "mer" else ""))
    _check(t.epochs >= 1, "train.epochs", f"must be at least 1, got {t.epochs}")
    _check(t.batch_size >= 1, "train.batch_size", f"must be at least 1, got {t.batch_size}")
    _check(t.learning_rate > 0, "train.learning_rate", f"must be positive, got "
           f"{t.learning_rate}")
    _check(0 <= t.dropout < 1, "train.dropout", f"is a rate in [0, 1), got {t.dropout}")
    _check(0 <= t.validation_fraction < 1, "train.validation_fraction",
           f"is a share of the train split in [0, 1), got {t.validation_fraction}")
    _check(t.validation_split in VALIDATION_SPLITS, "train.validation_split",
           f"must be one of {', '.join(VALIDATION_SPLITS)}, got {t.validation_split!r}")
    _check(t.train_steps is None or t.train_steps >= 1, "train.train_steps",
           f"is empty (epochs over the data) or at least 1, got {t.train_steps}")


# Schema libraries read this (the config-file loader validates with pydantic over these very
# dataclasses): a key that is not a field is an error, not silently ignored.
for _cls in (SplitConfig, FeatureConfig, TrainConfig, GateConfig, Preset):
    _cls.__pydantic_config__ = {"extra": "forbid"}

# The one deserialiser (and its inverse), kept in a module of its own; read from here too.
from components.core.config_serde import (  # noqa: E402
    UnknownFieldError,
    _adapter,
    _check_keys,
    _hints,
    from_dict,
    to_dict,
)

__all__ = ["UnknownFieldError", "from_dict", "to_dict"]
