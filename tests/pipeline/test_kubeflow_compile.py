"""The same create_pipeline() compiles to a Kubeflow Pipelines (v2) spec."""

from __future__ import annotations

import json

from kubeflow.runner import compile_pipeline


def test_compiles_every_component_for_every_task(tmp_path):
    # A local output dir: compiling writes the preset's contract schema there (a gs:// one
    # would be written to the bucket, which a test must not reach).
    path = compile_pipeline("demo", "/mnt/data/demo", str(tmp_path / "out"),
                            package_path=str(tmp_path / "p.json"), image="example/mer:1")
    spec = json.loads(open(path).read())["pipelineSpec"]
    tasks = set(spec["root"]["dag"]["tasks"])
    for name in ("EmotionExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator",
                 "DataGate", "Transform"):
        assert name in tasks
    for task in ("ter", "ser", "mer"):
        for kind in ("Trainer", "Baselines", "Evaluator", "Gate", "Pusher"):
            assert f"{kind}.{task}" in tasks
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()
              if "container" in e}
    assert images == {"example/mer:1"}
