"""Reproducible train/eval assignment over a whole dataset listing.

Splits are assigned in the driver over the complete listing (not per Beam
worker) because stratification and speaker-disjointness are properties of
the whole dataset. The assignment depends only on ids, labels, speakers and
the seed: keys are sorted by id first, so a rerun, a re-listed directory or
another machine gets the same split.

Methods:
- `random`: seeded stratified shuffle (each class ~test_fraction in eval; a class
  too small to share keeps its records in train).
- `speaker`: no speaker in both splits; explicit `eval_speakers`, or a seeded
  choice of whole speakers that brings eval closest to test_fraction of records.
- `kfold`: seeded stratified k-fold; `fold` selects the eval fold.
- `loso`: leave one speaker out; eval is `sorted(speakers)[fold]`.
- `predefined`: the dataset's own split (`Source.split`, set by readers of datasets that ship
  one: MELD, GoEmotions, PsychExp's DeepMoji indices): `test` is eval; `train` and `dev` are
  train (the Trainer carves its own validation from train).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Optional, Sequence

import numpy as np

from components.core.config import SPLIT_METHODS as METHODS
from components.core.contract import DATASET_SPLITS
from components.core.errors import DataError

TRAIN, EVAL = "train", "eval"


@dataclasses.dataclass(frozen=True)
class SplitKey:
    """What a split may depend on: nothing else about a record is looked at."""

    id: str
    label: str
    speaker: str
    split: str = ""  # the dataset's own split, for method `predefined`


def assign_splits(
    keys: Sequence[SplitKey],
    method: str,
    seed: int = 42,
    test_fraction: float = 0.2,
    n_folds: int = 5,
    fold: int = 0,
    eval_speakers: Optional[Sequence[str]] = None,
) -> dict[str, str]:
    """Maps every id to "train" or "eval"; raises ValueError saying how to fix bad settings."""
    if method not in METHODS:
        raise DataError(f"Unknown split method {method!r}; choose one of {', '.join(METHODS)}.")
    keys = _sorted_unique(keys)
    if method in ("random", "speaker") and not 0.0 < test_fraction < 1.0:
        raise DataError(
            f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}; "
            f"0.2 gives the usual 80/20 split.")
    if method in ("speaker", "loso"):
        _require_speakers(keys, method)
    if method == "random":
        eval_ids = _stratified_random(keys, seed, test_fraction)
    elif method == "speaker":
        eval_ids = _speaker_holdout(keys, seed, test_fraction, eval_speakers)
    elif method == "kfold":
        eval_ids = _stratified_fold(keys, seed, n_folds, fold)
    elif method == "loso":
        eval_ids = _leave_one_speaker_out(keys, fold)
    else:
        eval_ids = _predefined(keys)
    if not eval_ids or len(eval_ids) == len(keys):
        raise DataError(
            f"Split {method!r} put {'no' if not eval_ids else 'every'} record in eval "
            f"({len(keys)} records); use more data, another test_fraction or another method.")
    return {k.id: (EVAL if k.id in eval_ids else TRAIN) for k in keys}


def _predefined(keys: list[SplitKey]) -> set[str]:
    """The dataset's test records are eval; its train and dev records are train."""
    missing = [k.id for k in keys if k.split not in DATASET_SPLITS]
    if missing:
        raise DataError(
            f"Split 'predefined' follows the dataset's own train/dev/test assignment, but "
            f"{len(missing)} records have none (e.g. {missing[:3]}): this reader or dataset ships "
            f"no split. Use method 'random', 'speaker' or 'kfold'.")
    return {k.id for k in keys if k.split == "test"}


def _sorted_unique(keys: Sequence[SplitKey]) -> list[SplitKey]:
    keys = sorted(keys, key=lambda k: k.id)
    if not keys:
        raise DataError("No records to split; check that the reader listed any valid record.")
    dupes = sorted({a.id for a, b in zip(keys[:-1], keys[1:], strict=True) if a.id == b.id})
    if dupes:
        raise DataError(
            f"Split keys must have unique ids; duplicated: {dupes[:5]}"
            f"{' ...' if len(dupes) > 5 else ''}. Make ids unique in the reader or manifest.")
    return keys


def _require_speakers(keys: list[SplitKey], method: str) -> None:
    missing = [k.id for k in keys if not k.speaker]
    if missing:
        raise DataError(
            f"Split {method!r} needs a speaker for every record; {len(missing)} have none "
            f"(e.g. {missing[:3]}). Add a speaker column or use method 'random' or 'kfold'.")
    n = len({k.speaker for k in keys})
    if n < 2:
        raise DataError(
            f"Split {method!r} needs at least 2 speakers, the data has {n}; "
            f"use method 'random' or 'kfold'.")


def _class_counts(keys: list[SplitKey]) -> collections.Counter:
    return collections.Counter(k.label for k in keys)


def _stratified_random(keys: list[SplitKey], seed: int, test_fraction: float) -> set[str]:
    """Per-class seeded shuffle; eval takes ~test_fraction of every class.

    Not scikit-learn's StratifiedShuffleSplit: it refuses classes of one record
    and eval sets smaller than the number of classes, and a rare class or a
    tiny dataset must not fail ingestion before its files are even decoded.
    Eval holds ceil(test_fraction * n) records (as scikit-learn's test_size):
    floor(test_fraction * n_class) from each class, the rest handed out by
    largest remainder, first only where the class keeps a train record.
    """
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[str]] = collections.defaultdict(list)
    for k in keys:  # sorted by id
        by_label[k.label].append(k.id)
    labels = sorted(by_label)
    shuffled = {label: [by_label[label][i] for i in rng.permutation(len(by_label[label]))]
                for label in labels}
    exact = {label: test_fraction * len(by_label[label]) for label in labels}
    take = {label: int(np.floor(exact[label] + 1e-9)) for label in labels}
    target = int(np.ceil(test_fraction * len(keys) - 1e-9))
    tie_break = {label: i for i, label in enumerate(rng.permutation(labels).tolist())}
    order = sorted(labels, key=lambda lab: (take[lab] - exact[lab], tie_break[lab]))
    for keep_one_in_train in (True, False):
        for label in order:
            if sum(take.values()) >= target:
                break
            if take[label] < len(by_label[label]) - int(keep_one_in_train):
                take[label] += 1
    return {i for label in labels for i in shuffled[label][: take[label]]}


def _stratified_fold(keys: list[SplitKey], seed: int, n_folds: int, fold: int) -> set[str]:
    from sklearn.model_selection import StratifiedKFold

    if n_folds < 2:
        raise DataError(f"kfold needs n_folds >= 2, got {n_folds}; 5 is usual.")
    if not 0 <= fold < n_folds:
        raise DataError(f"kfold fold must be in 0..{n_folds - 1}, got {fold}.")
    largest = max(_class_counts(keys).values())
    if largest < n_folds:
        raise DataError(
            f"kfold with {n_folds} folds needs a class with at least {n_folds} records; the "
            f"largest has {largest}. Lower n_folds or use more data.")
    ids = np.array([k.id for k in keys])
    labels = np.array([k.label for k in keys])
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = list(splitter.split(ids, labels))
    return set(ids[folds[fold][1]].tolist())


def _speaker_holdout(
    keys: list[SplitKey], seed: int, test_fraction: float, eval_speakers: Optional[Sequence[str]]
) -> set[str]:
    per_speaker = collections.Counter(k.speaker for k in keys)
    speakers = sorted(per_speaker)
    if eval_speakers:
        unknown = sorted(set(eval_speakers) - set(speakers))
        if unknown:
            raise DataError(
                f"eval speakers {unknown} are not in the data; its speakers are "
                f"{speakers[:10]}{' ...' if len(speakers) > 10 else ''}.")
        chosen = set(eval_speakers)
    else:
        # A seeded order of whole speakers; take the prefix whose utterance count is
        # closest to the target, keeping at least one speaker on each side.
        order = [speakers[i] for i in np.random.default_rng(seed).permutation(len(speakers))]
        cumulative = np.cumsum([per_speaker[s] for s in order])[:-1]
        best = int(np.argmin(np.abs(cumulative - test_fraction * len(keys))))
        chosen = set(order[: best + 1])
    return {k.id for k in keys if k.speaker in chosen}


def _leave_one_speaker_out(keys: list[SplitKey], fold: int) -> set[str]:
    speakers = sorted({k.speaker for k in keys})
    if not 0 <= fold < len(speakers):
        raise DataError(
            f"loso fold {fold} is out of range: the data has {len(speakers)} speakers "
            f"(folds 0..{len(speakers) - 1}, one per speaker in sorted order).")
    return {k.id for k in keys if k.speaker == speakers[fold]}
