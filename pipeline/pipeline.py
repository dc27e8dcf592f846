"""create_pipeline(): the one graph every runner (local, Kubeflow) compiles.

Only wiring lives here: which components, in what order, with which config.
Feature code is in components/transform, model code in components/trainer.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import tensorflow_data_validation as tfdv  # noqa: E402
import tensorflow_model_analysis as tfma  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.dsl.components.base import executor_spec  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from components.baselines.component import Baselines  # noqa: E402
from components.bulk_inferrer.component import EmotionBulkInferrer  # noqa: E402
from components.core import contract  # noqa: E402
from components.core.batching import audio_batch_size  # noqa: E402
from components.core.config import GateConfig  # noqa: E402
from components.core.features import OPTIONAL_FEATURES  # noqa: E402
from components.core.segments import SegmentSettings  # noqa: E402
from components.core.signatures import PROBABILITIES, SERVING_DEFAULT  # noqa: E402
from components.core.tasks import uses_audio, validate_tasks  # noqa: E402
from components.data_gate.component import DataGate  # noqa: E402
from components.evaluator import executor as evaluator_executor  # noqa: E402
from components.example_gen.component import EmotionExampleGen  # noqa: E402
from components.gate.component import Gate  # noqa: E402
from components.gate.tfma_results import ACCURACY  # noqa: E402
from components.pusher import executor as pusher_executor  # noqa: E402
from components.statistics_gen import executor as statistics_executor  # noqa: E402
from components.trainer.models.build import required_features  # noqa: E402
from components.transform import executor as transform_executor  # noqa: E402
from pipeline import code_version as cv  # noqa: E402
from pipeline.configs import RunConfig, clip_window_s  # noqa: E402
from pipeline.contract_schema import write_schema  # noqa: E402

PREPROCESSING_FN = "components.transform.preprocessing.preprocessing_fn"
RUN_FN = "components.trainer.run.run_fn"
# The preset fields each standard component's module code reads: its part of the cache key
# (the custom components name theirs in their component.py). A field read but not listed fails
# loudly (`PresetPart`), so a part cannot silently miss something the code depends on.
TRANSFORM_FIELDS = ("features",)
TRAINER_FIELDS = ("labels", "train")


def component_id(kind: str, task: str) -> str:
    return f"{kind}.{task}"


def optional_features(preset, tasks) -> list[str]:
    """Large features (log-mel, waveform, raw text) only when a configured model reads them."""
    needed = {f for t in tasks for f in required_features(t, preset.train.models[t])}
    return sorted(needed & set(OPTIONAL_FEATURES))


def eval_config(gate: GateConfig, n_classes: int = 0) -> tfma.EvalConfig:
    """Accuracy, per-class metrics, confusion matrix, calibration; sliced by emotion, speaker,
    gender and dataset.

    The UAR (balanced accuracy) is read from the confusion matrix (`pipeline.tfma_confusion`):
    TFMA's macro-averaged binarized `Recall` counts a class as predicted only above
    probability 0.5, which is not the argmax recall UAR means.

    The blessing thresholds apply to the overall slice only: a plain
    `threshold=` would apply to every slice, and one small speaker slice
    would then block every push.
    """
    overall = tfma.SlicingSpec()
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gate.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -gate.max_regression},
        ),
    )
    specs = [tfma.MetricsSpec(
        metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy"),
            tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
        ],
        per_slice_thresholds={ACCURACY: tfma.PerSliceMetricThresholds(thresholds=[
            tfma.PerSliceMetricThreshold(slicing_specs=[overall], threshold=threshold)
        ])},
    )]
    if n_classes:
        class_ids = tfma.BinarizationOptions(class_ids={"values": list(range(n_classes))})
        specs.append(tfma.MetricsSpec(  # one value per class (classId:N in the results)
            binarize=class_ids,
            metrics=[tfma.MetricConfig(class_name=c) for c in (
                "Precision", "Recall", "F1Score", "Calibration", "CalibrationPlot")],
        ))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            label_key=contract.LABEL, signature_name=SERVING_DEFAULT,
            prediction_key=PROBABILITIES)],
        slicing_specs=[overall] + [
            tfma.SlicingSpec(feature_keys=[k])
            for k in (contract.EMOTION, contract.SPEAKER, contract.GENDER, contract.DATASET)
        ],
        metrics_specs=specs,
    )


def task_preset(preset, task: str):
    """The preset as one task's Trainer sees it: only that task's model and its per-task
    overrides already applied, so changing the SER recipe does not rerun the TER Trainer."""
    return preset.replace(tasks=(task,), train=dataclasses.replace(
        preset.train.for_task(task), models={task: preset.train.models[task]}))


def create_pipeline(
    config: RunConfig,
    tasks: Optional[Sequence[str]] = None,
    metadata_connection_config=None,
    schema_dir: Optional[str] = None,
    features_only: bool = False,
    extra_features: Sequence[str] = (),
) -> tfx.dsl.Pipeline:
    """The graph for `config.preset` and `tasks` (default: the preset's).

    `schema_dir` (default `<output_dir>/schemas`) is where the preset's contract schema is
    written for ImportSchemaGen, a path the runner can read. `features_only` stops after the
    Transform: ingestion, schema, statistics, validation and the Transform, exactly as the full
    pipeline runs them; the studies and the quality benchmark run that once per split and train
    many models on its output. `extra_features` asks the Transform for optional features
    beyond what the preset's models read (e.g. log-mel frames for a study's candidate CNN).
    """
    preset = config.preset
    tasks = validate_tasks(tasks or preset.tasks)
    unknown = sorted(set(extra_features) - set(OPTIONAL_FEATURES))
    if unknown:
        raise ValueError(f"extra_features {unknown} are not optional features {OPTIONAL_FEATURES}")

    example_gen = EmotionExampleGen(
        preset=preset, data_root=config.data_root,
        code_version=cv.code_version(cv.EXAMPLE_GEN))
    schema_file = write_schema(preset, schema_dir or os.path.join(config.output_dir, "schemas"))
    schema_import = tfx.components.ImportSchemaGen(schema_file=schema_file)
    schema = schema_import.outputs["schema"]
    # Batches bounded by bytes of audio (components/core/batching.py), on every runner.
    batch_size = audio_batch_size(preset.features.max_duration_s,
                                  preset.require_audio or uses_audio(tasks))
    statistics_gen = tfx.components.StatisticsGen(
        examples=example_gen.outputs["examples"], schema=schema,
        stats_options=tfdv.StatsOptions(desired_batch_size=batch_size) if batch_size else None)
    # TFX's executor, with its reads spread over the workers on Flink/Spark.
    statistics_gen.executor_spec = executor_spec.BeamExecutorSpec(statistics_executor.Executor)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema)
    data_gate = DataGate(anomalies=example_validator.outputs["anomalies"], schema=schema,
                         code_version=cv.code_version(cv.DATA_GATE))
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=data_gate.outputs["checked_schema"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={"preset": preset.part_json(*TRANSFORM_FIELDS), "tasks": list(tasks),
                       "features": sorted(set(optional_features(preset, tasks))
                                          | set(extra_features)),
                       "code_version": cv.code_version(cv.TRANSFORM)},
        # Nothing reads the Transform's own pre/post-transform statistics (StatisticsGen and
        # the DataGate check the raw data) or its analyzer cache (no run feeds it back): both
        # cost a TFDV pass over the raw WAV bytes, one over the outputs and extra traces of
        # the feature graph (docs/scaling.md, "The Transform near its kernel").
        disable_statistics=True,
        disable_analyzer_cache=True,
    )
    # TFX's executor with its batches bounded by bytes (TFX 1.16's Transform takes no
    # custom_executor_spec argument, so the spec is replaced on the instance).
    transform.executor_spec = executor_spec.BeamExecutorSpec(transform_executor.Executor)
    components = [example_gen, schema_import, statistics_gen, example_validator,
                  data_gate, transform]
    if features_only:
        return tfx.dsl.Pipeline(
            pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
            components=components, enable_cache=config.enable_cache,
            metadata_connection_config=metadata_connection_config,
            beam_pipeline_args=config.beam_pipeline_args())
    trainer_code, baselines_code, gate_code = (
        cv.code_version(cv.TRAINER), cv.code_version(cv.BASELINES), cv.code_version(cv.GATE))

    for task in tasks:
        trainer = tfx.components.Trainer(
            run_fn=RUN_FN,
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            train_args=tfx.proto.TrainArgs(num_steps=preset.train.train_steps or 0),
            eval_args=tfx.proto.EvalArgs(num_steps=0),
            custom_config={"preset": task_preset(preset, task).part_json(*TRAINER_FIELDS),
                           "task": task, "code_version": trainer_code},
        ).with_id(component_id("Trainer", task))
        resolver = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=tfx.dsl.Channel(
                type=standard_artifacts.Model,
                producer_component_id=component_id("Trainer", task),
                output_key="model"),
            model_blessing=tfx.dsl.Channel(
                type=standard_artifacts.ModelBlessing,
                producer_component_id=component_id("Gate", task),
                output_key="blessing"),
        ).with_id(component_id("LatestBlessedModel", task))
        evaluator = tfx.components.Evaluator(
            examples=example_gen.outputs["examples"],
            model=trainer.outputs["model"],
            baseline_model=resolver.outputs["model"],
            eval_config=eval_config(preset.gate, len(preset.labels)),
        ).with_id(component_id("Evaluator", task))
        # TFX's executor with tfx-bsl's batches bounded by bytes (the raw examples carry WAV).
        evaluator.executor_spec = executor_spec.BeamExecutorSpec(evaluator_executor.Executor)
        baselines = Baselines(
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            preset=preset, task=task, models=preset.gate.baselines, code_version=baselines_code,
        ).with_id(component_id("Baselines", task))
        gate = Gate(
            model=trainer.outputs["model"], evaluation=evaluator.outputs["evaluation"],
            baselines=baselines.outputs["baselines"], baseline_margin=preset.gate.baseline_margin,
            code_version=gate_code,
        ).with_id(component_id("Gate", task))
        # Staged, checked and renamed into place: a version appears only when it serves.
        pusher = tfx.components.Pusher(
            model=trainer.outputs["model"],
            model_blessing=gate.outputs["blessing"],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(
                    base_directory=os.path.join(config.serving_dir, task))),
            custom_executor_spec=executor_spec.ExecutorClassSpec(pusher_executor.Executor),
        ).with_id(component_id("Pusher", task))
        components += [trainer, baselines, resolver, evaluator, gate, pusher]
        if config.infer_root and task == "ser":
            # `mer infer`'s job on the version just pushed (nothing if the gate refused it).
            components.append(EmotionBulkInferrer(
                pushed_model=pusher.outputs["pushed_model"], preset=preset,
                data_root=config.infer_root,
                timeline=(SegmentSettings(window_s=clip_window_s(preset))
                          if config.infer_timeline else None),
                code_version=cv.code_version(cv.BULK_INFERRER),
            ).with_id(component_id("BulkInferrer", task)))

    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=config.beam_pipeline_args(),
    )
