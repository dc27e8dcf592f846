"""The one metrics module: fractions in [0, 1], the same numbers wherever they are shown."""

from __future__ import annotations

import numpy as np

from components.core import carve_out, metrics


def test_uar_recall_and_accuracy_on_an_imbalanced_set():
    y = [0, 0, 0, 0, 1, 1, 2]
    pred = [0, 0, 0, 1, 1, 0, 2]
    cm = metrics.confusion(y, pred, 4)  # class 3: no rows
    assert cm.tolist() == [[3, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    recall = metrics.per_class_recall(cm)
    np.testing.assert_allclose(recall[:3], [0.75, 0.5, 1.0])
    assert np.isnan(recall[3])
    assert metrics.uar(cm) == (0.75 + 0.5 + 1.0) / 3  # absent classes do not count
    assert metrics.uar_of(y, pred, 4) == metrics.uar(cm)
    assert metrics.accuracy(y, pred) == 5 / 7  # differs from UAR: the set is imbalanced
    assert metrics.uar(np.zeros((2, 2))) is None


def test_top_k_is_highest_first_and_stable_on_ties():
    assert metrics.top_k([0.1, 0.4, 0.1, 0.4], 3) == [1, 3, 0]
    assert metrics.top_k([0.2, 0.8], 5) == [1, 0]
    assert metrics.top_k([0.2, 0.8], 0) == []


def test_the_carve_out_is_every_kth_row():
    assert carve_out.period(0.0) == 0 and carve_out.period(0.2) == 5 and carve_out.period(0.9) == 2
    assert np.flatnonzero(carve_out.mask(12, 0.25)).tolist() == [0, 4, 8]
    assert not carve_out.mask(5, 0.0).any()
