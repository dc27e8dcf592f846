"""Split assignment: stratified, speaker-disjoint, reproducible, complete."""

from __future__ import annotations

import collections
import random

import pytest

from components.example_gen.splits import SplitKey, assign_splits


def _keys(n_speakers=10, per_class=10, labels=("a", "b", "c", "d")):
    return [SplitKey(f"s{s}_{lab}_{i}", lab, f"s{s}")
            for s in range(n_speakers) for lab in labels for i in range(per_class // 2)]


def test_random_is_stratified_80_20():
    keys = _keys()
    split = assign_splits(keys, "random", seed=1)
    per_class = collections.Counter(k.label for k in keys if split[k.id] == "eval")
    assert set(per_class.values()) == {10}  # 20% of 50 per class
    assert sum(v == "eval" for v in split.values()) == len(keys) // 5


def test_same_seed_same_split_whatever_the_order():
    keys = _keys()
    shuffled = keys[:]
    random.Random(3).shuffle(shuffled)
    assert assign_splits(keys, "random", seed=7) == assign_splits(shuffled, "random", seed=7)
    assert assign_splits(keys, "random", seed=7) != assign_splits(keys, "random", seed=8)


def test_speaker_split_is_disjoint_and_near_fraction():
    keys = _keys()
    split = assign_splits(keys, "speaker", seed=0, test_fraction=0.2)
    train_spk = {k.speaker for k in keys if split[k.id] == "train"}
    eval_spk = {k.speaker for k in keys if split[k.id] == "eval"}
    assert train_spk and eval_spk and not train_spk & eval_spk
    assert 0.1 <= len([v for v in split.values() if v == "eval"]) / len(keys) <= 0.3


def test_explicit_eval_speakers():
    keys = _keys()
    split = assign_splits(keys, "speaker", eval_speakers=["s8", "s9"])
    assert {k.speaker for k in keys if split[k.id] == "eval"} == {"s8", "s9"}
    with pytest.raises(ValueError, match="not in the data"):
        assign_splits(keys, "speaker", eval_speakers=["nobody"])


@pytest.mark.parametrize("method,folds", [("kfold", 5), ("loso", 10)])
def test_folds_cover_every_item_exactly_once(method, folds):
    keys = _keys()
    seen = collections.Counter()
    for fold in range(folds):
        split = assign_splits(keys, method, n_folds=5, fold=fold)
        seen.update(i for i, v in split.items() if v == "eval")
    assert set(seen) == {k.id for k in keys} and set(seen.values()) == {1}


def test_bad_method_and_fold_are_clear_errors():
    with pytest.raises(ValueError, match="random"):
        assign_splits(_keys(), "bogus")
    with pytest.raises(ValueError, match="10 speakers"):
        assign_splits(_keys(), "loso", fold=10)
