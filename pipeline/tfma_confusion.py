"""The confusion matrix TFMA computed for a model, and the per-class recall and UAR from it.

Why from the matrix: TFMA's `MultiClassConfusionMatrixPlot` counts each eval example once
under (true class, top predicted class), so its rows give the recall of every class the way a
user means it (argmax), and their mean is the unweighted average recall (UAR, balanced
accuracy) whatever the model's calibration.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from components.core.metrics import per_class_recall, uar  # noqa: F401 - read from here too


def confusion_matrix(eval_uri: str, n_classes: int = 0) -> Optional[np.ndarray]:
    """Rows: true class id, columns: predicted class id; None without a TFMA plot."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis import constants

    # With a last blessed model to compare against, TFMA stores plots per model: "candidate"
    # is the one being evaluated. Without one, there is a single, unnamed model.
    for model_name in (None, constants.CANDIDATE_KEY):
        try:
            result = tfma.load_eval_result(eval_uri, model_name=model_name)
        except Exception:  # noqa: BLE001 - a missing or failed evaluation has no matrix
            continue
        cm = _overall_matrix(result, n_classes)
        if cm is not None:
            return cm
    return None


def _overall_matrix(result, n_classes: int) -> Optional[np.ndarray]:
    for slice_key, plots in result.plots:
        if slice_key:
            continue
        for by_output in plots.values():
            for by_name in by_output.values():
                matrices = by_name.get("multiClassConfusionMatrixAtThresholds")
                if matrices:
                    return _matrix(matrices["matrices"][0]["entries"], n_classes)
    return None


def _matrix(entries: list[dict], n_classes: int) -> np.ndarray:
    ids = [(int(e.get("actualClassId", 0)), int(e.get("predictedClassId", 0))) for e in entries]
    n = max([n_classes] + [max(a, p) + 1 for a, p in ids])
    cm = np.zeros((n, n), dtype=np.float64)
    for (actual, predicted), entry in zip(ids, entries, strict=True):
        if actual >= 0 and predicted >= 0:  # -1: no prediction above the threshold
            cm[actual, predicted] += float(entry.get("numWeightedExamples", 0.0))
    return cm
