"""Serialization of the data contract to and from tf.Example."""

from __future__ import annotations

import tensorflow as tf

from components.core import contract


def _bytes(values: list[bytes]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def to_example(utt: contract.Utterance) -> tf.train.Example:
    """Every contract field is always present (empty when unknown).

    Keeping all fields present with exactly one value lets SchemaGen infer a
    fixed shape for each, so Transform and serving see dense tensors whether
    the dataset is text-only, speech-only or both.
    """
    feature = {name: _bytes([getattr(utt, name).encode("utf-8")])
               for name in contract.STRING_FEATURES}
    feature[contract.AUDIO] = _bytes([utt.audio])
    feature[contract.LABEL] = tf.train.Feature(int64_list=tf.train.Int64List(value=[utt.label]))
    feature[contract.DURATION_S] = tf.train.Feature(
        float_list=tf.train.FloatList(value=[utt.duration_s]))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def from_example(example: tf.train.Example) -> contract.Utterance:
    f = example.features.feature
    strings = {name: f[name].bytes_list.value[0].decode("utf-8")
               for name in contract.STRING_FEATURES}
    return contract.Utterance(
        audio=f[contract.AUDIO].bytes_list.value[0],
        label=int(f[contract.LABEL].int64_list.value[0]),
        duration_s=float(f[contract.DURATION_S].float_list.value[0]),
        **strings,
    )


def raw_feature_spec() -> dict[str, tf.io.FixedLenFeature]:
    """The contract as a parsing spec (shape [1], as SchemaGen infers it)."""
    spec = {name: tf.io.FixedLenFeature([1], tf.string)
            for name in contract.STRING_FEATURES + contract.BYTES_FEATURES}
    spec[contract.LABEL] = tf.io.FixedLenFeature([1], tf.int64)
    spec[contract.DURATION_S] = tf.io.FixedLenFeature([1], tf.float32)
    return spec
