"""Distribution strategy from the environment: TPU, GPUs or the CPU default."""

from __future__ import annotations

import os

import tensorflow as tf


def distribution_strategy(tpu: str | None = None) -> tf.distribute.Strategy:
    """TPUStrategy when a TPU address is given (arg or MER_TPU), Mirrored on GPUs."""
    tpu = tpu or os.environ.get("MER_TPU")
    if tpu:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if tf.config.list_physical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
