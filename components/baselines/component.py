"""Baselines: LinearSVC, RandomForest, MultinomialNB, LogisticRegression per task.

A model is only worth serving if it beats these cheap models on the same
split; the gate reads this component's metrics to decide.
"""

from __future__ import annotations

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import component_spec, standard_artifacts

from components.artifacts import BaselineResults
from components.baselines.executor import Executor
from components.core.config import Preset
from components.core.model_names import BASELINES

# What the baselines read of the preset (their cache key): not the Trainer's epochs or model.
PRESET_FIELDS = ("labels",)


class BaselinesSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "preset": component_spec.ExecutionParameter(type=str),  # PRESET_FIELDS, as JSON
        "task": component_spec.ExecutionParameter(type=str),
        "models": component_spec.ExecutionParameter(type=str),  # JSON list
        "seed": component_spec.ExecutionParameter(type=int),  # the preset's train.seed
        "grid_search": component_spec.ExecutionParameter(type=int, optional=True),
        "code_version": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "examples": component_spec.ChannelParameter(type=standard_artifacts.Examples),
        "transform_graph": component_spec.ChannelParameter(
            type=standard_artifacts.TransformGraph),
    }
    OUTPUTS = {"baselines": component_spec.ChannelParameter(type=BaselineResults)}


class Baselines(base_component.BaseComponent):
    SPEC_CLASS = BaselinesSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        transform_graph: types.BaseChannel,
        preset: Preset,
        task: str,
        models: Sequence[str] = BASELINES,
        grid_search: bool = False,
        code_version: str = "",
    ):
        unknown = [m for m in models if m not in BASELINES]
        if unknown:
            raise ValueError(f"Unknown baseline(s) {unknown}; choose from {BASELINES}.")
        super().__init__(spec=BaselinesSpec(
            preset=preset.part_json(*PRESET_FIELDS), task=task, models=json.dumps(list(models)),
            seed=preset.train.seed, grid_search=int(grid_search), code_version=code_version,
            examples=examples, transform_graph=transform_graph,
            baselines=types.Channel(type=BaselineResults),
        ))
