"""Classification metrics, defined once: accuracy, confusion, per-class recall, UAR, top-k.

One unit convention: every score is a fraction in [0, 1]. A table that shows percent (the
studies, `mer evaluate`'s lines) multiplies when it prints or stores for display. Used by the
gate and run summary (UAR from TFMA's confusion matrix), the studies, `mer evaluate`, the
reports and serving (top-k).

The metric names the pipeline's two libraries report live here too, so "accuracy" means one
thing per context: `KERAS_ACCURACY`, the training history's key; `TFMA_ACCURACY`, the
Evaluator's metric the gate reads.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

KERAS_ACCURACY = "accuracy"  # history keys: loss, accuracy, val_loss, val_accuracy
TFMA_ACCURACY = "sparse_categorical_accuracy"  # the Evaluator's metric (the gate's threshold)


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Share of rows predicted right (0.0 for no rows)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def confusion(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts, rows: true class, columns: predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return cm


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (NaN for a class with no rows)."""
    cm = np.asarray(cm, dtype=float)
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.where(totals > 0, totals, 1), np.nan)


def uar(cm: np.ndarray) -> Optional[float]:
    """Unweighted average recall (balanced accuracy) over the classes present; None if none."""
    recall = per_class_recall(cm)
    present = recall[~np.isnan(recall)]
    return float(present.mean()) if present.size else None


def uar_of(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> float:
    """UAR of predictions (0.0 when there are no rows)."""
    return uar(confusion(y_true, y_pred, n_classes)) or 0.0


def top_k(probabilities: Sequence[float], k: int) -> list[int]:
    """Indices of the `k` highest probabilities, highest first (ties: the lower index first)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return [int(i) for i in np.argsort(-p, kind="stable")[: max(k, 0)]]
