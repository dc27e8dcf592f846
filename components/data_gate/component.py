"""DataGate: the run stops before the Transform when the examples break the data contract.

TFX's ExampleValidator only records anomalies (it has no switch to fail), so a label outside
the preset's set or missing audio would flow into the Transform and the models. This gate
reads ExampleValidator's anomalies and passes the schema on only when no blocking one was
found; the Transform reads the schema from here, which is what makes it wait for the check.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import component_spec, standard_artifacts

from components.data_gate.executor import Executor


class DataGateSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "code_version": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "anomalies": component_spec.ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        "schema": component_spec.ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {"checked_schema": component_spec.ChannelParameter(type=standard_artifacts.Schema)}


class DataGate(base_component.BaseComponent):
    SPEC_CLASS = DataGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, anomalies: types.BaseChannel, schema: types.BaseChannel,
                 code_version: str = ""):
        super().__init__(spec=DataGateSpec(
            anomalies=anomalies, schema=schema, code_version=code_version,
            checked_schema=types.Channel(type=standard_artifacts.Schema),
        ))
