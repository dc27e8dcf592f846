"""EmotionExampleGen: the dataset readers as a TFX component.

A custom component rather than FileBasedExampleGen because a dataset here is
a tree of audio files plus metadata, not rows in files, and because ingestion
must also emit a quarantine report and a recorded split assignment.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import component_spec, standard_artifacts

from components.artifacts import IngestReport
from components.core.config import Preset
from components.example_gen.driver import Driver
from components.example_gen.executor import Executor

# The preset fields ingestion reads (its part of the cache key): a change to anything else
# (epochs, the gate, features) reuses the cached examples.
PRESET_FIELDS = ("name", "reader", "reader_options", "labels", "require_text", "require_audio",
                 "split")


class EmotionExampleGenSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "preset": component_spec.ExecutionParameter(type=str),  # PRESET_FIELDS, as JSON
        "data_root": component_spec.ExecutionParameter(type=str),
        # A hash of the ingestion code: an edit to a reader reruns ingestion.
        "code_version": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS: dict = {}
    OUTPUTS = {
        "examples": component_spec.ChannelParameter(type=standard_artifacts.Examples),
        "report": component_spec.ChannelParameter(type=IngestReport),
    }


class EmotionExampleGen(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = EmotionExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
    # Fingerprints data_root when the run starts, so a changed dataset is never a cache hit.
    DRIVER_CLASS = Driver

    def __init__(self, preset: Preset, data_root: str, code_version: str = ""):
        super().__init__(spec=EmotionExampleGenSpec(
            preset=preset.part_json(*PRESET_FIELDS),
            data_root=data_root,
            code_version=code_version,
            examples=types.Channel(type=standard_artifacts.Examples),
            report=types.Channel(type=IngestReport),
        ))
