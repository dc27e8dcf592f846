"""The baselines fit with the reference's hyperparameters and report honest metrics."""

from __future__ import annotations

import numpy as np
import pytest

from components.baselines.executor import fit_and_score
from components.baselines.models import BASELINES, REFERENCE_PARAMS, make_baseline


def _blobs(seed=0, n=240, d=20, k=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = rng.uniform(0, 1, (k, d))
    x = np.clip(centers[y] + rng.normal(0, 0.15, (n, d)), 0, None)
    return x.astype(np.float32), y


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("task", ["ter", "ser", "mer"])
def test_reference_params_are_applied(name, task):
    model = make_baseline(name, task)
    params = model.get_params()
    for key, value in REFERENCE_PARAMS[task][name].items():
        assert params[key] == value


@pytest.mark.parametrize("name", BASELINES)
def test_fit_and_score_learns_separable_data(name):
    x, y = _blobs()
    _, metrics = fit_and_score(name, "ser", x[:180], y[:180], x[180:], y[180:],
                               ["a", "b", "c"])
    assert metrics["accuracy"] > 0.8
    assert set(metrics["per_class"]) == {"a", "b", "c"}
    assert 0 <= metrics["balanced_accuracy"] <= 1


def test_labels_shuffled_gives_chance_accuracy():
    x, y = _blobs(n=600)
    rng = np.random.default_rng(1)
    _, metrics = fit_and_score("lr", "ser", x[:450], rng.permutation(y[:450]), x[450:], y[450:],
                               ["a", "b", "c"])
    assert metrics["accuracy"] < 0.5


def test_unknown_baseline_is_a_clear_error():
    with pytest.raises(ValueError, match="linsvm"):
        make_baseline("xgboost", "ter")


@pytest.mark.parametrize("name", BASELINES)
def test_sparse_tfidf_inputs_are_accepted(name):
    """TF-IDF from scikit-learn is a sparse matrix; every baseline (mnb included) takes it."""
    import scipy.sparse as sp

    x, y = _blobs()
    x[x < 0.5] = 0.0
    x_sparse = sp.csr_matrix(x)
    _, metrics = fit_and_score(name, "ter", x_sparse[:180], y[:180], x_sparse[180:], y[180:],
                               ["a", "b", "c"])
    assert metrics["accuracy"] > 0.6
