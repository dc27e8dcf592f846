"""Head-less encoders: transformed features in, one vector out.

A task model is one or more encoders plus a classification head, so early
fusion (MER) is literally the text and audio encoders concatenated.

The registries below are the single list of encoders: each entry says which
transformed features the encoder reads (so the Transform computes only those)
and ``ENCODER_HANDLES`` which pretrained hub models it loads. The small
encoders live here; the pretrained ones in ``text_encoders`` / ``audio_encoders``.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from components.core import features as ft
from components.trainer.models import audio_encoders, text_encoders

keras = tf.keras

# An encoder takes (dict of Keras inputs by feature name, hyperparameters) and returns
# one vector per example; it never adds a classification head.
Encoder = Callable[[dict, dict], tf.Tensor]


def tfidf_dense(inputs: dict, hp: dict) -> tf.Tensor:
    x = keras.layers.Dropout(hp["dropout"], name="tfidf_dropout")(inputs[ft.TEXT_TFIDF])
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="tfidf_dense")(x)


def audio_dense(inputs: dict, hp: dict) -> tf.Tensor:
    x = keras.layers.Dense(hp["hidden_units"], activation="relu", name="audio_dense_1")(
        inputs[ft.AUDIO_FEATURES])
    x = keras.layers.Dropout(hp["dropout"], name="audio_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"] // 2, activation="relu", name="audio_dense_2")(x)


def cnn1d(inputs: dict, hp: dict) -> tf.Tensor:
    """Two 1D convolutions over the utterance feature vector (reference SER 1D CNN)."""
    x = keras.layers.Reshape((-1, 1), name="cnn1d_reshape")(inputs[ft.AUDIO_FEATURES])
    x = keras.layers.Conv1D(64, 5, padding="same", activation="relu", name="cnn1d_conv1")(x)
    x = keras.layers.Conv1D(64, 5, padding="same", activation="relu", name="cnn1d_conv2")(x)
    x = keras.layers.MaxPooling1D(4, name="cnn1d_pool")(x)
    x = keras.layers.Flatten(name="cnn1d_flatten")(x)
    x = keras.layers.Dropout(hp["dropout"], name="cnn1d_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="cnn1d_dense")(x)


TEXT_ENCODERS: dict[str, tuple[Encoder, tuple[str, ...]]] = {
    "tfidf": (tfidf_dense, (ft.TEXT_TFIDF,)),
    "minilm": (text_encoders.minilm_dense, (ft.TEXT_RAW,)),
    "mpnet": (text_encoders.mpnet_dense, (ft.TEXT_RAW,)),
    "mpnet_bilstm": (text_encoders.mpnet_bilstm, (ft.TEXT_RAW,)),
    "bert": (text_encoders.bert_bilstm, (ft.TEXT_RAW,)),
    "electra": (text_encoders.electra_dense, (ft.TEXT_RAW,)),
}
AUDIO_ENCODERS: dict[str, tuple[Encoder, tuple[str, ...]]] = {
    "dense": (audio_dense, (ft.AUDIO_FEATURES,)),
    "cnn1d": (cnn1d, (ft.AUDIO_FEATURES,)),
    "cnn2d": (audio_encoders.cnn2d, (ft.LOG_MEL,)),
    "tdnn": (audio_encoders.tdnn, (ft.LOG_MEL,)),
    "reslstm": (audio_encoders.reslstm, (ft.LOG_MEL,)),
    "yamnet": (audio_encoders.yamnet_lstm, (ft.WAVEFORM,)),
    "trill": (audio_encoders.trill_lstm, (ft.WAVEFORM,)),
}
# Hub handle names (hub_handles.DEFAULT_HANDLES) an encoder loads; absent: none.
ENCODER_HANDLES: dict[str, tuple[str, ...]] = {
    "minilm": text_encoders.MINILM_HANDLES,
    "mpnet": text_encoders.MPNET_HANDLES,
    "mpnet_bilstm": text_encoders.MPNET_HANDLES,
    "bert": text_encoders.BERT_HANDLES,
    "electra": text_encoders.ELECTRA_HANDLES,
    "yamnet": ("yamnet",),
    "trill": ("trill",),
}
