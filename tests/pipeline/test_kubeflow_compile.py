"""The same create_pipeline() compiles to a Kubeflow Pipelines (v2) spec that can run on gs://."""

from __future__ import annotations

import json
import os

import pytest
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2 import compiler_utils
from tfx.types import standard_artifacts

from components.example_gen.driver import FINGERPRINT_PROPERTY, dataset_fingerprint
from kubeflow import example_gen_driver
from kubeflow.runner import compile_pipeline

DATAFLOW = ["--project=p", "--region=europe-west1", "--temp_location=gs://bucket/tmp"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    def build(**kwargs):
        out = tmp_path_factory.mktemp("kfp")
        # The contract schema goes to a local folder: a test must not write to the bucket.
        path = compile_pipeline("demo", "gs://bucket/data/demo", "gs://bucket/mer",
                                package_path=str(out / "p.json"), image="example/mer:1",
                                schema_dir=str(out / "schemas"), **kwargs)
        with open(path) as f:
            return json.load(f)
    return build


def _executors(job: dict) -> dict:
    """task name -> (its container, its executor class path)."""
    spec = job["pipelineSpec"]
    out = {}
    for name, task in spec["root"]["dag"]["tasks"].items():
        label = spec["components"][task["componentRef"]["name"]]["executorLabel"]
        container = spec["deploymentSpec"]["executors"][label].get("container")
        if container:
            args = container["args"]
            out[name] = (container, args[args.index("--executor_class_path") + 1])
    return out


def test_compiles_every_component_for_every_task(compiled):
    job = compiled()
    tasks = set(job["pipelineSpec"]["root"]["dag"]["tasks"])
    for name in ("EmotionExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator",
                 "DataGate", "Transform"):
        assert name in tasks
    for task in ("ter", "ser", "mer"):
        for kind in ("Trainer", "Baselines", "Evaluator", "Gate", "Pusher"):
            assert f"{kind}.{task}" in tasks


def test_spec_names_the_image_the_executors_and_the_gs_pipeline_root(compiled):
    job = compiled()
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/mer/pipelines/mer-demo"
    executors = _executors(job)
    assert {c["image"] for c, _ in executors.values()} == {"example/mer:1"}
    assert executors["EmotionExampleGen"][1] == "components.example_gen.executor.Executor"
    for task in ("ter", "ser", "mer"):
        assert executors[f"Baselines.{task}"][1] == "components.baselines.executor.Executor"
        assert executors[f"Gate.{task}"][1] == "components.gate.executor.Executor"
        assert executors[f"Trainer.{task}"][1] == "tfx.components.trainer.executor.GenericExecutor"
    assert executors["Transform"][1] == "components.transform.executor.Executor"
    params = job["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher.ter"]["inputs"]["parameters"]
    destination = json.loads(params["push_destination"]["runtimeValue"]["constantValue"]
                             ["stringValue"])
    assert destination["filesystem"]["base_directory"] == "gs://bucket/mer/serving/ter"
    preset_json = (job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer.ter"]["inputs"]
                   ["parameters"]["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])
    assert "components.trainer.run.run_fn" in json.dumps(job) and preset_json


def test_beam_components_get_the_chosen_runner(compiled):
    executors = _executors(compiled(runner="dataflow", beam_args=DATAFLOW))
    for name in ("EmotionExampleGen", "StatisticsGen", "Transform", "Evaluator.ser"):
        args = executors[name][0]["args"]
        assert "--runner=DataflowRunner" in args and set(DATAFLOW) <= set(args), name
    direct = _executors(compiled())["Transform"][0]["args"]
    assert "--direct_running_mode=multi_processing" in direct


def test_dataflow_without_its_required_options_names_them(compiled):
    with pytest.raises(ValueError, match="--beam-arg=--region=.*--beam-arg=--temp_location"):
        compiled(runner="dataflow", beam_args=["--project=p"])


def test_ingestion_carries_the_fingerprint_hook_and_an_honest_cache_policy(compiled):
    for kwargs, cached in (({}, False), ({"cache_ingestion": True}, True),
                           ({"platform": "vertex"}, True)):
        job = compiled(**kwargs)
        container = _executors(job)["EmotionExampleGen"][0]
        hook = container["lifecycle"]["preCacheCheck"]
        assert hook["command"] == ["python", "-m", "kubeflow.example_gen_driver"]
        assert hook["args"] == ["--json_serialized_invocation_args", "{{$}}"]
        tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
        assert tasks["EmotionExampleGen"]["cachingOptions"]["enableCache"] is cached, kwargs
        assert tasks["Transform"]["cachingOptions"]["enableCache"] is True


@pytest.mark.parametrize("spec_2_1", [True, False])
def test_pre_cache_hook_writes_the_runtime_fingerprint(tmp_path, spec_2_1):
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.csv").write_text("id,text\n1,hello\n")
    invocation = pipeline_spec_pb2.ExecutorInput()
    if spec_2_1:
        invocation.inputs.parameter_values["data_root"].string_value = str(data)
    else:
        invocation.inputs.parameters["data_root"].string_value = str(data)
    invocation.outputs.output_file = str(tmp_path / "out" / "executor_output.json")
    invocation.outputs.artifacts["examples"].artifacts.append(pipeline_spec_pb2.RuntimeArtifact(
        type=pipeline_spec_pb2.ArtifactTypeSchema(
            instance_schema=compiler_utils.get_artifact_schema(standard_artifacts.Examples)),
        uri=str(tmp_path / "examples")))
    from google.protobuf import json_format

    assert example_gen_driver.main(
        ["--json_serialized_invocation_args", json_format.MessageToJson(invocation),
         "--runner=DirectRunner"]) == 0
    with open(invocation.outputs.output_file) as f:
        output = json.load(f)
    want = dataset_fingerprint(str(data))
    assert output["parameterValues"][FINGERPRINT_PROPERTY] == want
    examples = output["artifacts"]["examples"]["artifacts"][0]
    assert examples["metadata"][FINGERPRINT_PROPERTY] == want
    os.utime(data / "manifest.csv", ns=(1, 1))
    assert dataset_fingerprint(str(data)) != want
