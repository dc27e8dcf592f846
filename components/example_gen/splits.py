"""Reproducible train/eval assignment over a whole dataset listing.

The assignment depends only on ids, labels, speakers and the seed (inputs are
sorted first), so a rerun, or another machine, gets the same split.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

METHODS = ("random", "speaker", "kfold", "loso")


@dataclasses.dataclass(frozen=True)
class SplitKey:
    id: str
    label: str
    speaker: str


def assign_splits(
    keys: Sequence[SplitKey],
    method: str,
    seed: int = 42,
    test_fraction: float = 0.2,
    n_folds: int = 5,
    fold: int = 0,
    eval_speakers: Optional[Sequence[str]] = None,
) -> dict[str, str]:
    """Maps id -> "train" | "eval"."""
    keys = sorted(keys, key=lambda k: k.id)
    if not keys:
        raise ValueError("No records to split.")
    if method == "random":
        eval_ids = _stratified_random(keys, seed, test_fraction)
    elif method == "speaker":
        eval_ids = _speaker_holdout(keys, seed, test_fraction, eval_speakers)
    elif method == "kfold":
        eval_ids = _stratified_fold(keys, seed, n_folds, fold)
    elif method == "loso":
        speakers = sorted({k.speaker for k in keys})
        if not 0 <= fold < len(speakers):
            raise ValueError(
                f"loso fold {fold} is out of range: the data has {len(speakers)} speakers "
                f"(folds 0..{len(speakers) - 1}).")
        eval_ids = {k.id for k in keys if k.speaker == speakers[fold]}
    else:
        raise ValueError(f"Unknown split method {method!r}; choose one of {METHODS}.")
    if not eval_ids or len(eval_ids) == len(keys):
        raise ValueError(
            f"Split {method!r} left {'no' if not eval_ids else 'every'} record in eval "
            f"({len(keys)} records); use more data or another method.")
    return {k.id: ("eval" if k.id in eval_ids else "train") for k in keys}


def _stratified_random(keys, seed, test_fraction) -> set[str]:
    from sklearn.model_selection import train_test_split

    labels = [k.label for k in keys]
    counts = {label: labels.count(label) for label in set(labels)}
    stratify = labels if min(counts.values()) >= 2 else None
    _, test = train_test_split(
        [k.id for k in keys], test_size=test_fraction, random_state=seed, stratify=stratify)
    return set(test)


def _stratified_fold(keys, seed, n_folds, fold) -> set[str]:
    from sklearn.model_selection import StratifiedKFold

    if not 0 <= fold < n_folds:
        raise ValueError(f"fold must be in 0..{n_folds - 1}, got {fold}.")
    ids = np.array([k.id for k in keys])
    labels = [k.label for k in keys]
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(splitter.split(ids, labels)):
        if i == fold:
            return set(ids[test])
    raise AssertionError("unreachable")


def _speaker_holdout(keys, seed, test_fraction, eval_speakers) -> set[str]:
    speakers = sorted({k.speaker for k in keys})
    if eval_speakers:
        unknown = sorted(set(eval_speakers) - set(speakers))
        if unknown:
            raise ValueError(f"eval speakers {unknown} are not in the data ({speakers[:10]}...).")
        chosen = set(eval_speakers)
    else:
        if len(speakers) < 2:
            raise ValueError("A speaker split needs at least 2 speakers; use method 'random'.")
        per_speaker = {s: 0 for s in speakers}
        for k in keys:
            per_speaker[k.speaker] += 1
        order = np.random.default_rng(seed).permutation(speakers)
        chosen, total, target = set(), 0, test_fraction * len(keys)
        for s in order:
            if total >= target or len(chosen) == len(speakers) - 1:
                break
            chosen.add(s)
            total += per_speaker[s]
    return {k.id for k in keys if k.speaker in chosen}
