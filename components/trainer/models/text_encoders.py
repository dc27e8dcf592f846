"""Pretrained text encoders (MiniLM, MPNet, BERT, Electra) as head-less encoders over ``text_raw``.

All of them have TF Hub's BERT interfaces (a preprocessing SavedModel: strings -> token ids,
mask, type ids; an encoder SavedModel: that dict -> ``pooled_output``, ``sequence_output``), so
one helper serves them and any other model with those interfaces can be swapped in by pointing
a handle at it. Tokenisation runs inside the model, which is why these encoders read the raw
string (``text_raw``) rather than a Transform output: the exported model then tokenises exactly
as in training, and the Transform never has to know about a vocabulary.
"""

from __future__ import annotations

import tensorflow as tf

from components.core import features as ft
from components.trainer.models.hub_layers import TokenMask, TrimPadding, hub_layer

keras = tf.keras

# Hub handle names each encoder loads (see hub_handles.DEFAULT_HANDLES).
MINILM_HANDLES = ("minilm_preprocess", "minilm")
MPNET_HANDLES = ("mpnet_preprocess", "mpnet")
BERT_HANDLES = ("bert_en_uncased_preprocess", "bert_en_uncased_L-12_H-768_A-12")
ELECTRA_HANDLES = ("electra_small_preprocess", "electra_small")


def bert_style(inputs: dict, hp: dict, prefix: str,
               handles: tuple[str, str]) -> tuple[dict, dict]:
    """Raw strings -> (encoder inputs, encoder outputs) through a preprocess + encoder pair.

    The token ids are cut to the batch's longest text before the encoder (``TrimPadding``).
    """
    preprocess_name, encoder_name = handles
    preprocess = hub_layer(preprocess_name, hp, trainable=False, name=f"{prefix}_preprocess")
    encoder = hub_layer(encoder_name, hp, name=f"{prefix}_encoder")
    encoder_inputs = TrimPadding(name=f"{prefix}_trim")(preprocess(inputs[ft.TEXT_RAW]))
    return encoder_inputs, encoder(encoder_inputs)


def _pooled_dense(inputs: dict, hp: dict, prefix: str, handles: tuple[str, str]) -> tf.Tensor:
    _, outputs = bert_style(inputs, hp, prefix, handles)
    x = keras.layers.Dropout(hp["dropout"], name=f"{prefix}_dropout")(outputs["pooled_output"])
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name=f"{prefix}_dense")(x)


def minilm_dense(inputs: dict, hp: dict) -> tf.Tensor:
    """MiniLM-L6 sentence embedding (masked mean, 384) -> dropout -> dense.

    The offline default: converted locally from its pip package (see minilm_convert).
    """
    return _pooled_dense(inputs, hp, "minilm", MINILM_HANDLES)


def mpnet_dense(inputs: dict, hp: dict) -> tf.Tensor:
    """all-mpnet-base-v2 sentence embedding (masked mean, 768) -> dropout -> dense.

    Offline like MiniLM (converted from its split zip on PyPI), 12 layers x 768: about 8x
    MiniLM-L6's compute per token (docs/models.md has its measured CPU cost).
    """
    return _pooled_dense(inputs, hp, "mpnet", MPNET_HANDLES)


def electra_dense(inputs: dict, hp: dict) -> tf.Tensor:
    """Electra-Small pooled [CLS] vector (256) -> dropout -> dense (reference TER model)."""
    return _pooled_dense(inputs, hp, "electra", ELECTRA_HANDLES)


def _sequence_bilstm(inputs: dict, hp: dict, prefix: str, handles: tuple[str, str]
                     ) -> tf.Tensor:
    """Token states -> BiLSTM -> dense: the reference's TER architecture over any encoder.

    The LSTM reads only the real tokens (``input_mask``): over a 128-token window most
    positions are padding, and the backward direction would otherwise start from them.
    """
    encoder_inputs, outputs = bert_style(inputs, hp, prefix, handles)
    mask = TokenMask(name=f"{prefix}_token_mask")(encoder_inputs["input_mask"])
    units = int(hp.get("lstm_units", 64))
    x = keras.layers.Bidirectional(keras.layers.LSTM(units), name=f"{prefix}_bilstm")(
        outputs["sequence_output"], mask=mask)
    x = keras.layers.Dropout(hp["dropout"], name=f"{prefix}_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name=f"{prefix}_dense")(x)


def bert_bilstm(inputs: dict, hp: dict) -> tf.Tensor:
    """BERT-Base token states (768 per token) -> BiLSTM -> dense (reference TER model)."""
    return _sequence_bilstm(inputs, hp, "bert", BERT_HANDLES)


def mpnet_bilstm(inputs: dict, hp: dict) -> tf.Tensor:
    """The reference's architecture (BERT-base-sized token states -> BiLSTM) on
    all-mpnet-base-v2, the BERT-base-sized encoder that loads offline."""
    return _sequence_bilstm(inputs, hp, "mpnet_seq", MPNET_HANDLES)
