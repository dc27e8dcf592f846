"""The four scikit-learn baselines with the reference's hyperparameters per task.

The values are the reference's 5-fold grid-search results
(../shared/reference/thesis-summary.md); `GRIDS` is a small grid around
them for users who want to re-run the search on their data.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

from components.core.model_names import BASELINES

REFERENCE_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "ter": {
        "linsvm": {"C": 0.068, "max_iter": 800, "loss": "squared_hinge", "class_weight": None},
        "rf": {"n_estimators": 600, "min_samples_split": 26, "max_features": "log2",
               "max_depth": 24, "class_weight": "balanced"},
        "mnb": {"alpha": 0.56},
        "lr": {"solver": "saga", "penalty": "l2", "C": 0.42, "max_iter": 800},
    },
    "ser": {
        "linsvm": {"C": 0.75, "max_iter": 1800, "loss": "squared_hinge"},
        "rf": {"n_estimators": 600, "min_samples_split": 26, "max_features": "log2",
               "max_depth": 8, "class_weight": "balanced_subsample"},
        "mnb": {"alpha": 0.012},
        "lr": {"solver": "newton-cg", "penalty": "l2", "C": 0.58, "max_iter": 1500},
    },
    "mer": {
        "linsvm": {"C": 0.058, "max_iter": 800},
        "rf": {"n_estimators": 600, "min_samples_split": 30, "max_features": "log2",
               "max_depth": 16, "class_weight": "balanced"},
        "mnb": {"alpha": 0.031},
        "lr": {"solver": "newton-cg", "penalty": "l2", "C": 0.56, "max_iter": 800},
    },
}

GRIDS: dict[str, dict[str, list]] = {
    "linsvm": {"C": [0.01, 0.05, 0.1, 0.5, 1.0]},
    "rf": {"max_depth": [8, 16, 24], "min_samples_split": [2, 10, 26]},
    "mnb": {"alpha": [0.01, 0.03, 0.1, 0.3, 1.0]},
    "lr": {"C": [0.1, 0.3, 0.6, 1.0]},
}

_CLASSES = {
    "linsvm": LinearSVC,
    "rf": RandomForestClassifier,
    "mnb": MultinomialNB,
    "lr": LogisticRegression,
}


def make_baseline(name: str, task: str, seed: int = 42, **overrides: Any) -> ClassifierMixin:
    """A fresh, unfitted baseline. `multi_class` is dropped: sklearn 1.5 deprecates it
    and its default for LinearSVC is already one-vs-rest, as the reference used."""
    if name not in _CLASSES:
        raise ValueError(f"Unknown baseline {name!r}; choose from {BASELINES}.")
    params = dict(REFERENCE_PARAMS[task][name])
    params.update(overrides)
    if name in ("linsvm", "rf", "lr"):
        params.setdefault("random_state", seed)
    if name == "rf":
        params.setdefault("n_jobs", -1)
    return _CLASSES[name](**params)
