"""The candidate recipes the quality benchmark compares, per task.

A recipe is a model name plus overrides of the preset's feature and train configuration:
exactly what a user writes in a preset or a run config, so a recipe the benchmark selects can
be shipped as a preset default unchanged. `preset` is the dataset preset's own recipe (what
`mer run --preset P` trains); the others are the alternatives it was chosen against.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from components.core.config import Preset
from components.core.model_names import BASELINES


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    model: str  # a Keras model name of the task, or a baseline name
    features: tuple[tuple[str, Any], ...] = ()  # FeatureConfig overrides
    train: tuple[tuple[str, Any], ...] = ()  # TrainConfig overrides

    @property
    def deployable(self) -> bool:
        """Keras models export with the transform graph; baselines are the gate's yardstick."""
        return self.model not in BASELINES

    def apply(self, preset: Preset, task: str) -> Preset:
        """`preset` with this recipe's model for `task` and its overrides."""
        features = dataclasses.replace(preset.features, **dict(self.features))
        models = dict(preset.train.models)
        if self.deployable:
            models[task] = self.model
        train = dataclasses.replace(preset.train, models=models, **dict(self.train))
        return preset.replace(features=features, train=train)

    def feature_key(self, preset: Preset, task: str) -> tuple:
        """Recipes with equal keys share one Transform run per split."""
        return tuple(sorted(dataclasses.asdict(self.apply(preset, task).features).items()))


def preset_recipe(preset: Preset, task: str) -> Recipe:
    return Recipe("preset", preset.train.models[task])


# Utterance statistics that beat the reference's time-means on RAVDESS (docs/models.md):
# without and with the MFCC means of the clip's thirds (the preset's choice).
STATS = (("audio_stats", ("mean", "std")), ("audio_deltas", True), ("mel_db", True),
         ("audio_segments", 0), ("audio_scaling", "z_score"))
STATS_SEGMENTS = STATS[:3] + (("audio_segments", 3), ("audio_scaling", "z_score"))
MLP = (("hidden_units", 256), ("dropout", 0.5), ("epochs", 150), ("schedule", "cosine"),
       ("learning_rate", 3e-3), ("validation_fraction", 0.1), ("early_stopping_patience", 40),
       ("augment", ("noise",)), ("ensemble_size", 1))
# Issue 19: model selection on whole held-out train speakers (components/core/carve_out.py),
# and the log-mel sequence model with per-utterance normalisation and voice augmentation.
SPEAKER_VAL = (("validation_fraction", 0.2), ("validation_split", "speakers"))
# The best of the screened reslstm recipes (docs/models.md, "Speakers never heard", line 8):
# no early stopping (the held-out speakers' loss rises from the first epochs).
RESLSTM = (("hidden_units", 64), ("dropout", 0.2), ("lstm_units", 48), ("epochs", 40),
           ("schedule", "cosine"), ("learning_rate", 3e-3), ("early_stopping_patience", 0),
           ("augment", ()), ("ensemble_size", 1)) + SPEAKER_VAL
REFERENCE_FEATURES = (("audio_stats", ("mean",)), ("audio_deltas", False), ("mel_db", False),
                      ("audio_segments", 0), ("audio_scaling", "min_max"))


def candidates(preset: Preset, task: str, quick: bool = False) -> list[Recipe]:
    """The preset's recipe, the alternatives, and the baselines (for context)."""
    out = [preset_recipe(preset, task)]
    if task == "ser":
        out += [
            Recipe("dense (reference features)", "dense", REFERENCE_FEATURES, MLP),
            Recipe("dense (stats)", "dense", STATS, MLP),
            Recipe("dense (stats+segments)", "dense", STATS_SEGMENTS, MLP),
            Recipe("dense (stats+segments) x5", "dense", STATS_SEGMENTS,
                   MLP[:-1] + (("ensemble_size", 5),)),
            Recipe("dense x3 (speaker val)", "dense", STATS_SEGMENTS,
                   MLP[:-1] + (("ensemble_size", 3),) + SPEAKER_VAL),
        ]
        if not quick:
            out.append(Recipe("tdnn (log-mel)", "tdnn", (("with_log_mel", True),) + STATS_SEGMENTS,
                              (("epochs", 60), ("schedule", "one_cycle"),
                               ("augment", ("time_shift", "gain", "spec_mask")),
                               ("dropout", 0.3), ("early_stopping_patience", 20))))
            out.append(Recipe("reslstm (speaker val)", "reslstm", STATS_SEGMENTS, RESLSTM))
        baseline_features = STATS_SEGMENTS
    else:
        out += [Recipe("tfidf_dense", "tfidf_dense", (), (("epochs", 40), ("dropout", 0.5),
                                                          ("early_stopping_patience", 5)))]
        if not quick:
            out.append(Recipe("minilm_dense", "minilm_dense", (),
                              (("epochs", 30), ("early_stopping_patience", 5))))
        baseline_features = ()
    out += [Recipe(b, b, baseline_features) for b in BASELINES]
    # The preset's recipe may equal an alternative: keep the first of each (model, overrides).
    seen, unique = set(), []
    for r in out:
        key = (r.model, repr(r.apply(preset, task)))
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique
