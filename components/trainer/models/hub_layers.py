"""Keras plumbing for pretrained hub models: loading by name, per-example calls, token masks."""

from __future__ import annotations

import tensorflow as tf

from components.trainer.models import hub_handles

keras = tf.keras


def hub_layer(handle: str, hp: dict, *, trainable: bool | None = None, **kwargs):
    """``hub.KerasLayer`` for a handle name (or URL/path), with the run's overrides.

    Encoders are frozen unless ``hp["fine_tune_encoders"]``: with a few thousand labelled
    utterances, fine-tuning 4-110 M parameters overfits and costs far more than training a
    head on frozen features, so it is an explicit opt-in. The layer computes in float32 even
    under a mixed-precision policy, because the SavedModels are traced for float32 inputs.
    """
    if trainable is None:
        trainable = bool(hp.get("fine_tune_encoders", False))
    kwargs.setdefault("dtype", "float32")
    return hub_handles.load_keras_layer(
        handle, trainable=trainable, overrides=hp.get("hub_handles") or {},
        seq_length=int(hp.get("seq_length", 128)),
        fine_tune_layers=int(hp.get("fine_tune_layers", 0)), **kwargs)


class PerExample(keras.layers.Layer):
    """Runs a layer that only takes one unbatched example (YAMNet: a 1-D waveform) per row.

    YAMNet's SavedModel is traced for a single [N] waveform, so a batch [B, N] is mapped with
    ``tf.map_fn``; every clip has the same length after the Transform, so the per-example
    outputs stack into [B, T, D]. Gradients flow through the map when the wrapped layer is
    trainable.
    """

    def __init__(self, layer: keras.layers.Layer, output_index: int, output_dim: int,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.layer = layer
        self.output_index = output_index
        self.output_dim = output_dim

    def call(self, batch: tf.Tensor) -> tf.Tensor:
        def one(example: tf.Tensor) -> tf.Tensor:
            return self.layer(example)[self.output_index]

        return tf.map_fn(one, batch, fn_output_signature=tf.TensorSpec(
            [None, self.output_dim], tf.float32))

    def compute_output_shape(self, input_shape) -> tf.TensorShape:
        return tf.TensorShape([input_shape[0], None, self.output_dim])


@keras.utils.register_keras_serializable(package="mer")
class TokenMask(keras.layers.Layer):
    """int ``input_mask`` [B, L] -> bool Keras mask, so recurrent layers skip the padding.

    A named layer rather than a Lambda: it saves and reloads without pickled Python code.
    """

    def call(self, input_mask: tf.Tensor) -> tf.Tensor:
        return tf.cast(input_mask, tf.bool)


@keras.utils.register_keras_serializable(package="mer")
class TrimPadding(keras.layers.Layer):
    """BERT inputs padded to ``seq_length`` -> cut to the batch's longest real sequence.

    Why: the preprocessor pads every text to a fixed ``seq_length``, and the encoder's cost
    grows with the padded length (attention quadratically), although padded positions are
    masked out of attention, pooling and the LSTMs: the results are the same, the work is not.
    PsychExp's texts average ~30 tokens of a 64-token window, so this halves a fine-tuning
    epoch. Needs an encoder that takes any length (the converted ones and TF Hub's do).
    """

    def call(self, encoder_inputs: dict) -> dict:
        mask = encoder_inputs["input_mask"]
        length = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)), 1)
        return {k: v[:, :length] for k, v in encoder_inputs.items()}
