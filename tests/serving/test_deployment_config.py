"""serving/models.config, batching.config and docker-compose.yml agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

SERVING = Path(__file__).resolve().parents[2] / "serving"


def test_models_config_serves_the_three_tasks_latest_version():
    config = text_format.Parse((SERVING / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    models = {c.name: c for c in config.model_config_list.config}
    assert set(models) == {"ter", "ser", "mer"}
    for name, c in models.items():
        assert c.base_path == f"/models/{name}"
        assert c.model_platform == "tensorflow"
        assert c.model_version_policy.WhichOneof("policy_choice") == "latest"
        assert c.model_version_policy.latest.num_versions == 1


def test_the_pinning_example_in_the_comments_parses():
    text = (SERVING / "models.config").read_text()
    example = re.search(r"#\s+(model_version_policy \{ specific \{ versions: \d+ \} \})", text)
    assert example, "models.config should show how to pin a version"
    config = text_format.Parse(
        'model_config_list { config { name: "ter" base_path: "/models/ter" '
        f'model_platform: "tensorflow" {example.group(1)} }} }}',
        model_server_config_pb2.ModelServerConfig())
    assert list(config.model_config_list.config[0].model_version_policy.specific.versions) == [
        int(re.search(r"versions: (\d+)", example.group(1)).group(1))]


def test_batching_config_fields():
    # BatchingParameters' proto is not shipped in tensorflow-serving-api: check the text form.
    fields = dict(re.findall(r"^(\w+)\s*\{\s*value:\s*(\d+)\s*\}", (SERVING / "batching.config")
                             .read_text(), re.M))
    assert {"max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
            "num_batch_threads"} <= set(fields)
    assert int(fields["max_batch_size"]) >= 8


def test_compose_mounts_the_repository_and_the_configs():
    import pytest

    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the compose file")

    compose = yaml.safe_load((SERVING / "docker-compose.yml").read_text())
    svc = compose["services"]["tfserving"]
    assert svc["image"].startswith("tensorflow/serving")
    assert {"8500:8500", "8501:8501"} <= set(svc["ports"])
    volumes = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
    assert volumes["/models"] == "../artifacts/serving"
    args = " ".join(svc["command"])
    for flag in ("--model_config_file=", "--enable_batching=true", "--batching_parameters_file=",
                 "--port=8500", "--rest_api_port=8501"):
        assert flag in args
    for inside, outside in volumes.items():
        if outside.startswith("./"):
            assert (SERVING / outside[2:]).exists()
            assert inside in args
