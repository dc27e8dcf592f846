"""Reports finished epochs to the runner's progress bar (`components.core.progress`).

Why a callback: Keras' own epoch lines go to the run's log file with the rest of TensorFlow's
output, so the console gets one bar per Trainer instead of a line per epoch.
"""

from __future__ import annotations

import tensorflow as tf

from components.core import progress


class EpochProgress(tf.keras.callbacks.Callback):
    def __init__(self, epochs: int):
        super().__init__()
        self._epochs = int(epochs)

    def on_train_begin(self, logs=None) -> None:
        progress.start(progress.EPOCHS, self._epochs)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        progress.report(progress.EPOCHS, epoch + 1, self._epochs)
