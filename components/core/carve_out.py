"""The validation carve-out, defined once: which train rows early stopping and model selection
hold out (every k-th row, k = round(1 / fraction), at least 2; fraction 0: none).

Deterministic and taken from the train split only, so the eval split the gate and the reports
measure is never seen while training. The Trainer applies it to a tf.data stream
(`components.trainer.fit.carve_validation`); the studies' baselines to arrays (`mask`); both
read `period` from here, so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np


def period(fraction: float) -> int:
    """k: row i is a validation row when i % k == 0; 0 when nothing is carved out."""
    if fraction <= 0:
        return 0
    return max(2, int(round(1 / fraction)))


def mask(n: int, fraction: float) -> np.ndarray:
    """The validation rows of `n` train rows, as a boolean mask."""
    k = period(fraction)
    return np.arange(n) % k == 0 if k else np.zeros(n, dtype=bool)
