"""Gate: emits the ModelBlessing the Pusher consumes.

TFMA's thresholds cover what is known when the pipeline is compiled (an
accuracy floor, no regression versus the last blessed model). The baseline's
accuracy is only known after the Baselines component has run, so that check
needs this small component reading the upstream artifact.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import component_spec, standard_artifacts

from components.artifacts import BaselineResults
from components.gate.executor import Executor


class GateSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "baseline_margin": component_spec.ExecutionParameter(type=float, optional=True),
        "code_version": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "model": component_spec.ChannelParameter(type=standard_artifacts.Model),
        "evaluation": component_spec.ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "baselines": component_spec.ChannelParameter(type=BaselineResults),
    }
    OUTPUTS = {"blessing": component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing)}


class Gate(base_component.BaseComponent):
    SPEC_CLASS = GateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, evaluation: types.BaseChannel,
                 baselines: types.BaseChannel, baseline_margin: float = 0.0,
                 code_version: str = ""):
        super().__init__(spec=GateSpec(
            baseline_margin=baseline_margin, code_version=code_version, model=model,
            evaluation=evaluation, baselines=baselines,
            blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        ))
