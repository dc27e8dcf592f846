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


class EmotionExampleGenSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "preset": component_spec.ExecutionParameter(type=str),
        "data_root": component_spec.ExecutionParameter(type=str),
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

    def __init__(self, preset: Preset, data_root: str):
        super().__init__(spec=EmotionExampleGenSpec(
            preset=preset.to_json(),
            data_root=data_root,
            examples=types.Channel(type=standard_artifacts.Examples),
            report=types.Channel(type=IngestReport),
        ))
