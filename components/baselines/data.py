"""Transformed examples -> NumPy arrays for scikit-learn.

The baselines train on exactly the features the Keras models see (the
Transform outputs), so the comparison in the gate is like for like. Splits are
found and read the way TFX's own components read them (the artifact's split
layout, its payload format, the files' compression), through TensorFlow's file
systems, so an artifact on gs:// reads like a local one.
"""

from __future__ import annotations

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import types
from tfx.components.util import tfxio_utils
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils
from tfx_bsl.public import tfxio

from components.core import features as ft

TASK_FEATURES = {
    "ter": (ft.TEXT_TFIDF,),
    "ser": (ft.AUDIO_FEATURES,),
    "mer": (ft.TEXT_TFIDF, ft.AUDIO_FEATURES),
}


def load_split(
    examples: types.Artifact, split: str, schema: schema_pb2.Schema, task: str,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for one split; MER concatenates TF-IDF and audio features as the reference did."""
    pattern = io_utils.all_files_pattern(artifact_utils.get_split_uri([examples], split))
    if not fileio.glob(pattern):
        raise FileNotFoundError(
            f"No transformed examples for split {split!r} in {examples.uri} (looked for "
            f"{pattern}); is the Transform's transformed_examples artifact complete?")
    names = TASK_FEATURES[task]
    make_source = tfxio_utils.get_tfxio_factory_from_artifact(
        [examples], telemetry_descriptors=["Baselines"], schema=schema)
    source = make_source(pattern).Project(list(names) + [ft.LABEL])
    batches = source.TensorFlowDataset(tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size, shuffle=False, num_epochs=1))
    xs, ys = [], []
    for batch in batches:
        n = int(batch[ft.LABEL].shape[0])
        xs.append(np.concatenate([batch[k].numpy().reshape(n, -1) for k in names], axis=1))
        ys.append(batch[ft.LABEL].numpy().reshape(-1))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)
