"""The validation carve-out, defined once: which train rows early stopping and model selection
hold out.

Two ways, chosen by `train.validation_split`:

* ``rows``: every k-th row, k = round(1 / fraction), at least 2 (fraction 0: none).
* ``speakers``: whole train speakers, 1 in k of the train split's speakers (at least one, and
  at least one left to train on), chosen by a hash of their ids. Why: with rows, validation
  holds clips of the very actors the model trains on, so early stopping and recipe choice
  reward memorising voices (RAVDESS: 82% validation vs ~51% on new actors). Held-out
  speakers make validation measure what a user sees on a new voice. The speakers come from
  the train split only, so an eval speaker can never be in validation.

Deterministic and taken from the train split only, so the eval split the gate and the reports
measure is never seen while training. The Trainer applies it to a tf.data stream
(`components.trainer.fit.carve_validation`); the studies' baselines to arrays (`mask`); both
read `period` / `held_out_speakers` from here, so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np

from components.core.errors import ConfigurationError


def period(fraction: float) -> int:
    """k: row i is a validation row when i % k == 0; 0 when nothing is carved out."""
    if fraction <= 0:
        return 0
    return max(2, int(round(1 / fraction)))


def mask(n: int, fraction: float) -> np.ndarray:
    """The validation rows of `n` train rows, as a boolean mask."""
    k = period(fraction)
    return np.arange(n) % k == 0 if k else np.zeros(n, dtype=bool)


def held_out_speakers(speakers: Iterable[str], fraction: float) -> tuple[str, ...]:
    """The train speakers whose rows form the validation set (every k-th in sorted order).

    `speakers` are the train split's speaker ids (repeats are fine). Raises a
    ConfigurationError when the rows carry no speaker ids or too few speakers to hold any
    out, naming the setting to change.
    """
    k = period(fraction)
    if not k:
        return ()
    ordered = sorted(set(speakers) - {""})
    if len(ordered) < 2:
        raise ConfigurationError(
            f"train.validation_split 'speakers' holds out whole train speakers, but the train "
            f"split has {len(ordered)} speaker id(s) {ordered}; use validation_split 'rows' "
            f"for a dataset without (enough) speakers")
    # n = round(len / k) speakers, at least one, at least one left to train on, picked in the
    # order of a hash of their ids: deterministic everywhere, and spread over the speakers
    # (taking every k-th id would follow patterns in the numbering, e.g. RAVDESS's odd male and
    # even female actors, and hold out one gender).
    n = min(max(1, int(round(len(ordered) / k))), len(ordered) - 1)
    by_hash = sorted(ordered, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    return tuple(sorted(by_hash[:n]))
