"""Reports finished epochs to the runner's progress bar (`components.core.progress`).

Why a callback: Keras' own epoch lines go to the run's log file with the rest of TensorFlow's
output, so the console gets one bar per Trainer instead of a line per epoch.
"""

from __future__ import annotations

import tensorflow as tf

from components.core import progress


class EpochProgress(tf.keras.callbacks.Callback):
    """One bar of `epochs x members` epochs for an ensemble trained member after member (the
    same callback goes to each member's `fit`): member k's epochs count from k x epochs, and
    a member that early stopping ends before `epochs` leaves the bar at the next member's
    start, so the bar ends full and never runs backwards."""

    def __init__(self, epochs: int, members: int = 1):
        super().__init__()
        self._epochs = int(epochs)
        self._members = max(1, int(members))
        self._member = -1  # the member training now (0-based)

    @property
    def total(self) -> int:
        return self._epochs * self._members

    def on_train_begin(self, logs=None) -> None:
        self._member += 1
        if self._member == 0:
            progress.start(progress.EPOCHS, self.total)
        else:
            progress.report(progress.EPOCHS, min(self._member * self._epochs, self.total),
                            self.total)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        done = min(self._member * self._epochs + epoch + 1, self.total)
        progress.report(progress.EPOCHS, done, self.total)

    def on_train_end(self, logs=None) -> None:
        if self._member + 1 >= self._members:  # the last member, early-stopped or not
            progress.report(progress.EPOCHS, self.total, self.total)
