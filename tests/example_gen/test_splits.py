"""Split assignment: stratified, speaker-disjoint, reproducible, complete; clear when it can't."""

from __future__ import annotations

import collections
import random

import pytest

from components.example_gen.splits import METHODS, SplitKey, assign_splits


def _keys(n_speakers=10, per_speaker_class=5, labels=("a", "b", "c", "d")):
    return [SplitKey(f"s{s}_{lab}_{i}", lab, f"s{s}")
            for s in range(n_speakers) for lab in labels for i in range(per_speaker_class)]


def _unbalanced():
    """Class sizes 200/60/15 and speakers of very different sizes."""
    keys = []
    for label, n in (("big", 200), ("mid", 60), ("small", 15)):
        keys += [SplitKey(f"{label}{i:03d}", label, f"spk{i % (3 + i % 7)}") for i in range(n)]
    return keys


def _eval_ids(split):
    return {i for i, v in split.items() if v == "eval"}


def test_random_is_stratified_80_20():
    keys = _keys()
    split = assign_splits(keys, "random", seed=1)
    assert set(split) == {k.id for k in keys} and set(split.values()) == {"train", "eval"}
    per_class = collections.Counter(k.label for k in keys if split[k.id] == "eval")
    assert per_class == {"a": 10, "b": 10, "c": 10, "d": 10}  # 20% of 50 per class


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.3])
def test_random_keeps_class_proportions_when_unbalanced(fraction):
    keys = _unbalanced()
    split = assign_splits(keys, "random", seed=5, test_fraction=fraction)
    totals = collections.Counter(k.label for k in keys)
    evals = collections.Counter(k.label for k in keys if split[k.id] == "eval")
    for label, n in totals.items():
        assert abs(evals[label] - fraction * n) <= 1, (label, evals[label], n)
    assert abs(len(_eval_ids(split)) - fraction * len(keys)) <= 1


@pytest.mark.parametrize("method,kw", [
    ("random", {}), ("speaker", {}), ("kfold", {"fold": 3}), ("loso", {"fold": 4})])
def test_same_seed_same_split_whatever_the_order(method, kw):
    keys = _unbalanced()
    shuffled = keys[:]
    random.Random(3).shuffle(shuffled)
    first = assign_splits(keys, method, seed=7, **kw)
    assert first == assign_splits(shuffled, method, seed=7, **kw)
    assert first == assign_splits(list(reversed(keys)), method, seed=7, **kw)


@pytest.mark.parametrize("method", ["random", "speaker", "kfold"])
def test_seed_changes_the_split(method):
    keys = _keys()
    assert assign_splits(keys, method, seed=7) != assign_splits(keys, method, seed=8)


def test_random_on_rare_classes_and_tiny_data_still_splits():
    """Listing must not fail on a class of one record or a dataset of a few records."""
    keys = [*_keys(), SplitKey("lonely", "z", "s1")]
    split = assign_splits(keys, "random")
    assert split["lonely"] == "train"  # a class of one cannot be in both splits
    assert len(_eval_ids(split)) == 41  # ceil(0.2 * 201)
    tiny = [SplitKey("x", "happy", "s1"), SplitKey("y", "sad", "s2")]
    assert sorted(assign_splits(tiny, "random").values()) == ["eval", "train"]
    pairs = [SplitKey(f"{lab}{i}", lab, "s") for lab in "abcd" for i in range(2)]
    split = assign_splits(pairs, "random", test_fraction=0.2)  # 2 eval slots, 4 classes
    assert len(_eval_ids(split)) == 2
    assert all(sum(split[f"{lab}{i}"] == "train" for i in range(2)) >= 1 for lab in "abcd")


def test_speaker_split_is_disjoint_and_near_fraction():
    keys = _unbalanced()
    for seed in range(5):
        split = assign_splits(keys, "speaker", seed=seed, test_fraction=0.2)
        train_spk = {k.speaker for k in keys if split[k.id] == "train"}
        eval_spk = {k.speaker for k in keys if split[k.id] == "eval"}
        assert train_spk and eval_spk and not train_spk & eval_spk
        assert 0.1 <= len(_eval_ids(split)) / len(keys) <= 0.3


def test_speaker_split_with_two_speakers_holds_one_out():
    keys = _keys(n_speakers=2)
    split = assign_splits(keys, "speaker", test_fraction=0.9)
    assert len({k.speaker for k in keys if split[k.id] == "eval"}) == 1
    assert len({k.speaker for k in keys if split[k.id] == "train"}) == 1


def test_explicit_eval_speakers():
    keys = _keys()
    split = assign_splits(keys, "speaker", eval_speakers=["s8", "s9"])
    assert {k.speaker for k in keys if split[k.id] == "eval"} == {"s8", "s9"}
    assert {k.speaker for k in keys if split[k.id] == "train"} == {f"s{i}" for i in range(8)}
    with pytest.raises(ValueError, match="not in the data"):
        assign_splits(keys, "speaker", eval_speakers=["nobody"])
    with pytest.raises(ValueError, match="every record in eval"):
        assign_splits(keys, "speaker", eval_speakers=[f"s{i}" for i in range(10)])


@pytest.mark.parametrize("method,folds", [("kfold", 5), ("loso", 10)])
def test_folds_cover_every_item_exactly_once(method, folds):
    keys = _keys()
    seen: collections.Counter = collections.Counter()
    for fold in range(folds):
        seen.update(_eval_ids(assign_splits(keys, method, n_folds=5, fold=fold)))
    assert set(seen) == {k.id for k in keys} and set(seen.values()) == {1}


def test_kfold_folds_are_stratified():
    keys = _unbalanced()
    for fold in range(5):
        split = assign_splits(keys, "kfold", n_folds=5, fold=fold)
        evals = collections.Counter(k.label for k in keys if split[k.id] == "eval")
        assert evals == {"big": 40, "mid": 12, "small": 3}


def test_loso_holds_out_the_sorted_speaker():
    keys = _keys()
    for fold, speaker in enumerate(sorted({k.speaker for k in keys})):
        split = assign_splits(keys, "loso", fold=fold)
        assert {k.speaker for k in keys if split[k.id] == "eval"} == {speaker}


@pytest.mark.parametrize("keys,method,kw,needle", [
    (_keys(), "bogus", {}, "random, speaker, kfold, loso"),
    (_keys(), "loso", {"fold": 10}, "10 speakers"),
    (_keys(), "kfold", {"fold": 5}, r"0\.\.4"),
    (_keys(), "kfold", {"n_folds": 1}, "n_folds >= 2"),
    (_keys(n_speakers=1, per_speaker_class=2), "kfold", {"n_folds": 5}, "Lower n_folds"),
    (_keys(), "random", {"test_fraction": 1.0}, "test_fraction"),
    ([SplitKey("only", "a", "s1")], "random", {}, "every record in eval"),
    (_keys(n_speakers=1), "speaker", {}, "at least 2 speakers"),
    (_keys(n_speakers=1), "loso", {}, "at least 2 speakers"),
    ([*_keys(), SplitKey("anon", "a", "")], "speaker", {}, "needs a speaker"),
    ([*_keys(), SplitKey("s0_a_0", "b", "s3")], "random", {}, "unique ids"),
    ([], "random", {}, "No records"),
])
def test_bad_settings_are_clear_errors(keys, method, kw, needle):
    with pytest.raises(ValueError, match=needle):
        assign_splits(keys, method, **kw)


def test_methods_are_the_documented_ones():
    assert METHODS == ("random", "speaker", "kfold", "loso", "predefined")


def test_predefined_follows_the_dataset_test_split_and_dev_joins_train():
    keys = [SplitKey(f"{part}{i}", "ab"[i % 2], "", part)
            for part, n in (("train", 8), ("dev", 2), ("test", 4)) for i in range(n)]
    split = assign_splits(keys, "predefined")
    assert _eval_ids(split) == {k.id for k in keys if k.split == "test"}
    assert {split[k.id] for k in keys if k.split == "dev"} == {"train"}


def test_predefined_without_a_dataset_split_says_which_methods_work():
    keys = _keys()
    with pytest.raises(ValueError, match="ships no split.*'random'"):
        assign_splits(keys, "predefined")
