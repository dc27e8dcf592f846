"""EmotionBulkInferrer: score a dataset with the model the Pusher just published.

Why a component of its own rather than TFX's BulkInferrer: TFX's takes an ExampleGen's
tf.Examples and writes PredictionLogs, so a dataset to score would first have to be ingested
(which needs labels and splits) and its results decoded again. This one runs the job `mer
infer` runs (`components/bulk_inferrer/job.py`: the preset's reader, ingestion's decoder and
quarantine, tfx-bsl's `RunInference`, TFX's BulkInferrer engine) on the pushed version, so a
pipeline with `--infer-root` ends with the same Parquet, CSV and summary `mer infer` writes,
in an InferenceResult artifact that ML Metadata links to the model version that made it.

It reads the Pusher's `pushed_model`: it runs after the push, scores only a version that was
pushed (a model the gate refused scores nothing, as TFX's BulkInferrer skips an unblessed one)
and names that version in every row.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import component_spec, standard_artifacts

from components.bulk_inferrer.executor import PUSHED_MODEL_KEY, RESULT_KEY, Executor
from components.core.config import Preset
from components.core.segments import SegmentSettings
from components.example_gen import driver

# The preset fields the listing reads (its part of the cache key).
PRESET_FIELDS = ("name", "reader", "reader_options")


class Driver(driver.Driver):
    """EmotionExampleGen's driver, with the fingerprint on the inference result."""

    OUTPUT_KEY = RESULT_KEY


class EmotionBulkInferrerSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "preset": component_spec.ExecutionParameter(type=str),  # PRESET_FIELDS, as JSON
        "data_root": component_spec.ExecutionParameter(type=str),  # what to score
        # SegmentSettings as JSON: one row per voiced window; empty: one row per clip.
        "timeline": component_spec.ExecutionParameter(type=str, optional=True),
        "code_version": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        PUSHED_MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.PushedModel),
    }
    OUTPUTS = {
        RESULT_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.InferenceResult),
    }


class EmotionBulkInferrer(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = EmotionBulkInferrerSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
    # Fingerprints data_root when the run starts, as EmotionExampleGen's does: new recordings
    # under the same folder are scored, never answered from the cache.
    DRIVER_CLASS = Driver

    def __init__(self, pushed_model: types.BaseChannel, preset: Preset, data_root: str,
                 timeline: Optional[SegmentSettings] = None, code_version: str = ""):
        super().__init__(spec=EmotionBulkInferrerSpec(
            preset=preset.part_json(*PRESET_FIELDS),
            data_root=data_root,
            timeline=json.dumps(dataclasses.asdict(timeline)) if timeline else "",
            code_version=code_version,
            **{PUSHED_MODEL_KEY: pushed_model},
            **{RESULT_KEY: types.Channel(type=standard_artifacts.InferenceResult)},
        ))
