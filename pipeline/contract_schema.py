"""The data contract as a TFDV schema, with the preset's label domains: what ExampleValidator
checks the examples against.

Why curated: a schema SchemaGen infers from the very statistics ExampleValidator then checks
accepts whatever the data holds. This one is written from the contract
(`components/core/contract.py`) and the preset, so a label outside the preset's set, an
utterance without audio where the preset needs audio, a missing field or a field of another
type is an anomaly, and the DataGate stops the run on it. It is written to a file named by its
content and imported with TFX's ImportSchemaGen (whose cache key is the file path), so a
changed schema is a new import and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import os

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.io import fileio
from tfx.utils import io_utils

from components.core import contract
from components.core.config import Preset

SCHEMA_FILE = "schema.pbtxt"
# The genders the contract allows (docs/data-contract.md); "" is unknown.
GENDERS = ("female", "male", "")


def contract_schema(preset: Preset) -> schema_pb2.Schema:
    """Every contract feature present once, typed; domains where the preset fixes them.

    - `emotion`: the preset's labels; `label`: 0..n-1. A preset that infers its labels from the
      data (labels=()) cannot list them before ingestion, so it only asks for a label >= 0.
    - `gender`: female, male or unknown.
    - `duration_s`: >= 0, and at least one sample's length where the preset requires audio:
      ingestion derives it from the decoded clip, so an utterance without audio has 0 and is
      out of the domain. (A schema domain rather than a TFDV custom validation: TFX 1.16 cannot
      compile ExampleValidator's `custom_validation_config` for Kubeflow Pipelines v2.)
    - `audio` is marked as raw bytes (`image_domain` is TFDV's marker for non-text bytes), so
      the statistics show byte sizes instead of treating WAV files as strings.
    """
    schema = schema_pb2.Schema()
    for name in contract.STRING_FEATURES + contract.BYTES_FEATURES:
        _feature(schema, name, schema_pb2.BYTES)
    _feature(schema, contract.LABEL, schema_pb2.INT)
    _feature(schema, contract.DURATION_S, schema_pb2.FLOAT)
    features = {f.name: f for f in schema.feature}
    if preset.labels:
        features[contract.EMOTION].string_domain.value.extend(preset.labels)
        features[contract.LABEL].int_domain.max = len(preset.labels) - 1
    features[contract.LABEL].int_domain.min = 0
    features[contract.GENDER].string_domain.value.extend(GENDERS)
    duration = features[contract.DURATION_S].float_domain
    duration.min = 1.0 / contract.SAMPLE_RATE if preset.require_audio else 0.0
    duration.disallow_nan = True
    duration.disallow_inf = True
    features[contract.AUDIO].image_domain.SetInParent()
    return schema


def _feature(schema: schema_pb2.Schema, name: str, kind: int) -> None:
    feature = schema.feature.add(name=name, type=kind)
    feature.presence.min_fraction = 1.0
    feature.shape.dim.add(size=1)


def write_schema(preset: Preset, directory: str) -> str:
    """Writes the preset's schema as `<directory>/<content hash>/schema.pbtxt`; returns the path."""
    text = text_format.MessageToString(contract_schema(preset))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = os.path.join(directory, digest, SCHEMA_FILE)
    if not fileio.exists(path):
        io_utils.write_string_file(path, text)
    return path
