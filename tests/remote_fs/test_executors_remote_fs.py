"""Each custom executor with its artifact URIs on a non-local file system.

ExampleGen (Beam + fileio) runs against a GCS emulator on loopback; the executors that read
through TensorFlow (Baselines, Trainer's run_fn, Gate) run on TF's in-memory ram:// file system
on artifacts a small local run produced, and must give what they gave locally. A local-file-API
call on such a URI would fail, or create a local folder named after the scheme; both are checked.
tests/support/gcs_emulator.py says why the split and which emulator.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import pytest
import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_beam_executor, base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

from components import artifacts
from components.example_gen.driver import FINGERPRINT_PROPERTY, dataset_fingerprint
from pipeline import demo_corpus, local_runner, run_metadata
from pipeline.configs import RunConfig, get_preset
from tests.example_gen.test_driver import _manifest
from tests.support.gcs_emulator import gcs_emulator

# Slow: a demo pipeline run to copy from (about a minute): `make test-slow`.
pytestmark = [pytest.mark.remote_fs, pytest.mark.slow]

DIRECT = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


@pytest.fixture
def gcs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # where os.makedirs("gs://...") would leave a "gs:" folder
    with gcs_emulator(monkeypatch) as bucket:
        yield bucket
    assert not (tmp_path / "gs:").exists(), "something wrote a gs:// URI with the local file API"


def _artifact(cls, uri: str, splits=()) -> types.Artifact:
    a = cls()
    a.uri = uri
    if splits:
        a.split_names = artifact_utils.encode_split_names(list(splits))
    return a


def _local_copy(remote: str, local_dir: str) -> str:
    local = os.path.join(local_dir, os.path.basename(remote))
    with fileio.open(remote, "rb") as src, open(local, "wb") as dst:
        dst.write(src.read())
    return local


def test_example_gen_executor_writes_examples_and_report_to_gcs(gcs, tmp_path):
    from components.example_gen.executor import Executor
    from tests.example_gen.conftest import write_wav

    data = tmp_path / "data"
    for i in range(10):
        write_wav(data / f"c{i}.wav", seconds=0.2)
    _manifest(data, 10)
    (data / "c9.wav").write_bytes(b"not audio")  # one quarantined record
    examples = _artifact(standard_artifacts.Examples, f"{gcs}/p/EmotionExampleGen/examples/1")
    report = _artifact(artifacts.IngestReport, f"{gcs}/p/EmotionExampleGen/report/2")
    preset = get_preset("manifest").replace(require_text=True, require_audio=True)
    Executor(base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=DIRECT)).Do(
        {}, {"examples": [examples], "report": [report]},
        {"preset": preset.to_json(), "data_root": str(data)})

    summary = artifacts.read_ingest_report(report.uri)
    assert (summary["written"], summary["quarantined"]) == (9, 1)
    assert sorted(fileio.listdir(report.uri)) == sorted(
        [artifacts.REPORT_FILE, artifacts.QUARANTINE_FILE, artifacts.SPLITS_FILE])
    with fileio.open(os.path.join(report.uri, artifacts.QUARANTINE_FILE)) as f:
        assert "u9" in f.read()
    n = 0
    for split in ("train", "eval"):
        for path in fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], split),
                                             "*")):
            local = _local_copy(path, str(tmp_path))
            n += sum(1 for _ in tf.data.TFRecordDataset(local, compression_type="GZIP"))
    assert n == 9
    assert examples.get_string_custom_property(FINGERPRINT_PROPERTY) == dataset_fingerprint(
        str(data))


def test_fingerprint_of_a_gcs_data_root(gcs):
    root = f"{gcs}/datasets/demo"
    for name, text in (("manifest.csv", "id\n1\n"), ("audio/a.wav", "RIFF")):
        with fileio.open(f"{root}/{name}", "w") as f:
            f.write(text)
    first = dataset_fingerprint(root)
    assert first.startswith("files:2,") and dataset_fingerprint(root) == first
    with fileio.open(f"{root}/audio/b.wav", "w") as f:
        f.write("RIFF2")
    assert dataset_fingerprint(root) != first


# --- the TensorFlow-reading executors on ram:// ----------------------------------------------


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """A small TER run on local disk: the artifacts the ram:// executors are fed."""
    out = tmp_path_factory.mktemp("local")
    demo_corpus.generate(out / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=2, utterances_per_class_per_speaker=5))
    preset = get_preset("demo")
    preset = preset.replace(train=dataclasses.replace(preset.train, epochs=3))
    config = RunConfig(preset=preset, data_root=str(out / "data"),
                       output_dir=str(out / "artifacts"))
    local_runner.run(config, tasks=["ter"])
    return config


def _copy_tree(src: str, dst: str) -> str:
    for dirpath, _, files in tf.io.gfile.walk(src):
        rel = os.path.relpath(dirpath, src)
        target = dst if rel == "." else f"{dst}/{rel}"
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(dirpath, name), f"{target}/{name}", overwrite=True)
    return dst


def _to_ram(config: RunConfig, component: str, key: str, ram: str) -> str:
    local = run_metadata.latest_output(config.metadata_path, component, key)
    assert local, (component, key)
    return _copy_tree(local, f"{ram}/{component}/{key}")


@pytest.fixture
def ram(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = f"ram://{os.path.basename(tmp_path)}"
    yield root
    assert not (tmp_path / "ram:").exists()
    try:  # best effort: TF's ram:// cannot always delete a tree (it is freed with the process)
        tf.io.gfile.rmtree(root)
    except tf.errors.OpError:
        pass


def test_baselines_executor_on_ram_gives_the_local_metrics(local_run, ram):
    from components.baselines.executor import Executor

    examples = _artifact(standard_artifacts.Examples,
                         _to_ram(local_run, "Transform", "transformed_examples", ram),
                         splits=("train", "eval"))
    graph = _artifact(standard_artifacts.TransformGraph,
                      _to_ram(local_run, "Transform", "transform_graph", ram))
    out = _artifact(artifacts.BaselineResults, f"{ram}/Baselines.ter/baselines/1")
    tf.io.gfile.makedirs(out.uri)
    preset = local_run.preset
    Executor(base_executor.BaseExecutor.Context()).Do(
        {"examples": [examples], "transform_graph": [graph]}, {"baselines": [out]},
        {"preset": preset.to_json(), "task": "ter", "models": json.dumps(["lr", "mnb"]),
         "seed": preset.train.seed})
    got = artifacts.read_baseline_metrics(out.uri)
    want = artifacts.read_baseline_metrics(run_metadata.latest_output(
        local_run.metadata_path, "Baselines.ter", "baselines"))
    assert (got["n_train"], got["n_eval"]) == (want["n_train"], want["n_eval"])
    for name in ("lr", "mnb"):
        assert got["models"][name]["accuracy"] == want["models"][name]["accuracy"]
        assert tf.io.gfile.exists(f"{out.uri}/{name}.joblib")


def test_gate_executor_on_ram_gives_the_local_verdict(local_run, ram):
    from components.gate.executor import Executor

    model = _artifact(standard_artifacts.Model, _to_ram(local_run, "Trainer.ter", "model", ram))
    model.id = 1
    evaluation = _artifact(standard_artifacts.ModelEvaluation,
                           _to_ram(local_run, "Evaluator.ter", "evaluation", ram))
    baselines = _artifact(artifacts.BaselineResults,
                          _to_ram(local_run, "Baselines.ter", "baselines", ram))
    blessing = _artifact(standard_artifacts.ModelBlessing, f"{ram}/Gate.ter/blessing/1")
    Executor(base_executor.BaseExecutor.Context()).Do(
        {"model": [model], "evaluation": [evaluation], "baselines": [baselines]},
        {"blessing": [blessing]}, {"baseline_margin": local_run.preset.gate.baseline_margin})
    want = artifacts.read_verdict(run_metadata.latest_output(
        local_run.metadata_path, "Gate.ter", "blessing"))
    got = artifacts.read_verdict(blessing.uri)
    assert got == want
    marker = "BLESSED" if got["blessed"] else "NOT_BLESSED"
    assert tf.io.gfile.exists(f"{blessing.uri}/{marker}")


def test_trainer_run_fn_on_ram_writes_model_curves_and_card(local_run, ram):
    from tfx.components.trainer import executor as trainer_executor
    from tfx.proto import trainer_pb2
    from tfx.utils import proto_utils

    examples = _artifact(standard_artifacts.Examples,
                         _to_ram(local_run, "Transform", "transformed_examples", ram),
                         splits=("train", "eval"))
    graph = _artifact(standard_artifacts.TransformGraph,
                      _to_ram(local_run, "Transform", "transform_graph", ram))
    schema = _artifact(standard_artifacts.Schema,
                       _to_ram(local_run, "DataGate", "checked_schema", ram))
    model = _artifact(standard_artifacts.Model, f"{ram}/Trainer.ter/model/9")
    run = _artifact(standard_artifacts.ModelRun, f"{ram}/Trainer.ter/model_run/9")
    preset = local_run.preset.replace(train=dataclasses.replace(local_run.preset.train, epochs=1))
    with tempfile.TemporaryDirectory() as tmp:
        trainer_executor.GenericExecutor(base_executor.BaseExecutor.Context(tmp_dir=tmp)).Do(
            {"examples": [examples], "transform_graph": [graph], "schema": [schema]},
            {"model": [model], "model_run": [run]},
            {"run_fn": "components.trainer.run.run_fn",
             "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(num_steps=0)),
             "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(num_steps=0)),
             "custom_config": json.dumps({"preset": preset.to_json(), "task": "ter"})})
    serving = f"{model.uri}/Format-Serving"
    assert tf.io.gfile.exists(f"{serving}/saved_model.pb")
    assert tf.io.gfile.exists(f"{serving}/assets.extra/tf_serving_warmup_requests")
    with tf.io.gfile.GFile(f"{run.uri}/model.json") as f:
        assert json.load(f)["labels"] == list(preset.labels)
    with tf.io.gfile.GFile(f"{run.uri}/history.csv") as f:
        assert f.read().startswith("epoch,")
