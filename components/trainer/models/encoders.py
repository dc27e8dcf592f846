"""Head-less encoders: transformed features in, one vector out.

A task model is one or more encoders plus a classification head, so early
fusion (MER) is literally the text and audio encoders concatenated.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from components.transform import preprocessing as pp

keras = tf.keras

# An encoder takes the dict of Keras inputs and returns (used input names, vector).
Encoder = Callable[[dict, dict], tf.Tensor]


def tfidf_dense(inputs: dict, hp: dict) -> tf.Tensor:
    x = keras.layers.Dropout(hp["dropout"], name="tfidf_dropout")(inputs[pp.TEXT_TFIDF])
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="tfidf_dense")(x)


def audio_dense(inputs: dict, hp: dict) -> tf.Tensor:
    x = keras.layers.Dense(hp["hidden_units"], activation="relu", name="audio_dense_1")(
        inputs[pp.AUDIO_FEATURES])
    x = keras.layers.Dropout(hp["dropout"], name="audio_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"] // 2, activation="relu", name="audio_dense_2")(x)


def cnn1d(inputs: dict, hp: dict) -> tf.Tensor:
    """Two 1D convolutions over the utterance feature vector (reference SER 1D CNN)."""
    x = keras.layers.Reshape((-1, 1), name="cnn1d_reshape")(inputs[pp.AUDIO_FEATURES])
    x = keras.layers.Conv1D(64, 5, padding="same", activation="relu", name="cnn1d_conv1")(x)
    x = keras.layers.Conv1D(64, 5, padding="same", activation="relu", name="cnn1d_conv2")(x)
    x = keras.layers.MaxPooling1D(4, name="cnn1d_pool")(x)
    x = keras.layers.Flatten(name="cnn1d_flatten")(x)
    x = keras.layers.Dropout(hp["dropout"], name="cnn1d_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="cnn1d_dense")(x)


TEXT_ENCODERS: dict[str, tuple[Encoder, tuple[str, ...]]] = {
    "tfidf": (tfidf_dense, (pp.TEXT_TFIDF,)),
}
AUDIO_ENCODERS: dict[str, tuple[Encoder, tuple[str, ...]]] = {
    "dense": (audio_dense, (pp.AUDIO_FEATURES,)),
    "cnn1d": (cnn1d, (pp.AUDIO_FEATURES,)),
}
