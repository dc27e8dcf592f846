"""The names a model study is given (models, task, split methods), resolved and checked early.

Why this exists: the study runner and its command line both turn what the user typed
(``--models``, ``--task``, ``--split``) into validated names, the features those models read
and the runs a split method means; doing it in one place makes a typo fail before any data is
decoded, naming what is known.
"""

from __future__ import annotations

from typing import Optional, Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

from components.core.config import SPLIT_METHODS  # noqa: E402
from components.core.errors import UsageError
from components.core.features import AUDIO_FEATURES, TEXT_TFIDF  # noqa: E402
from components.core.model_names import BASELINES  # noqa: E402
from components.core.tasks import TASKS  # noqa: E402

SPLITS = SPLIT_METHODS


def is_baseline(model: str) -> bool:
    """Baselines are the four scikit-learn models; everything else is a Keras model by name."""
    return model in BASELINES


def check_models(task: str, models: Sequence[str]) -> None:
    """Fails early, naming the known models, before any data is decoded."""
    from components.core.model_names import MODEL_NAMES
    from components.trainer.models.build import parse_model_name

    if not models:
        raise UsageError("no models given; e.g. --models linsvm,rf,cnn1d")
    for m in models:
        if is_baseline(m):
            continue
        try:
            parse_model_name(task, m)
        except ValueError as err:
            raise UsageError(f"{err} Baselines: {', '.join(BASELINES)}; {task.upper()} Keras "
                             f"models: {', '.join(MODEL_NAMES[task])}.") from None


def resolve_task(preset, models: Sequence[str], task: Optional[str] = None) -> str:
    """The task to study: given, the preset's only task, or the one the Keras models imply.

    A preset such as ``demo`` supports all three tasks; ``cnn1d`` then means SER and
    ``tfidf+cnn1d`` MER, while baselines alone are ambiguous and need ``task``.
    """
    if task is not None:
        if task not in TASKS:
            raise UsageError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
        return task
    if len(preset.tasks) == 1:
        return preset.tasks[0]
    from components.trainer.models.build import parse_model_name

    candidates = set(preset.tasks)
    for m in models:
        if is_baseline(m):
            continue
        fits = set()
        for t in TASKS:
            try:
                parse_model_name(t, m)
                fits.add(t)
            except ValueError:
                pass
        candidates &= fits
    if len(candidates) == 1:
        return candidates.pop()
    raise UsageError(f"preset {preset.name!r} supports tasks {', '.join(preset.tasks)} and the "
                     f"models {', '.join(models)} do not say which; pass --task")


def needed_features(task: str, models: Sequence[str]) -> set[str]:
    """Transformed features the models read (baselines: TF-IDF and/or the 180 audio values)."""
    from components.trainer.models.build import required_features

    feats: set[str] = set()
    for m in models:
        if is_baseline(m):
            if task in ("ter", "mer"):
                feats.add(TEXT_TFIDF)
            if task in ("ser", "mer"):
                feats.add(AUDIO_FEATURES)
        else:
            feats.update(required_features(task, m))
    return feats


def parse_splits(split: str | Sequence[str]) -> list[str]:
    """``"random,speaker"`` or a list -> validated split methods, in the given order."""
    names = [s.strip() for s in (split.split(",") if isinstance(split, str) else split)
             if s.strip()]
    bad = [s for s in names if s not in SPLITS]
    if bad or not names:
        raise UsageError(f"unknown split(s) {bad or split!r}; choose from {', '.join(SPLITS)}")
    return list(dict.fromkeys(names))


def split_plan(split: str, n_speakers: int, runs: int, seed: int, n_folds: int
               ) -> list[tuple[int, int]]:
    """(seed, fold) of every run: ``runs`` seeds for random/speaker, every fold for loso/kfold.

    Leave-one-speaker-out and k-fold are complete by construction (each example is tested
    once), so they iterate all folds whatever ``runs`` says.
    """
    if split in ("random", "speaker"):
        return [(seed + i, 0) for i in range(runs)]
    if split == "kfold":
        return [(seed, f) for f in range(n_folds)]
    return [(seed, f) for f in range(n_speakers)]
