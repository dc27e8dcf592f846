"""TFX's cache reruns exactly what a change touches, read from ML Metadata's execution states.

A component gets only the configuration it reads and a hash of the code it runs, so changing
`epochs` reruns the Trainer but not ingestion or the Transform, and editing the feature code
reruns the Transform (and what depends on it) but not ingestion.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import code_version, demo_corpus, local_runner
from pipeline.configs import RunConfig, get_preset


def _newest_run_states(config: RunConfig) -> dict[str, str]:
    """node id -> last_known_state name of the newest run's executions, straight from MLMD."""
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = config.metadata_path
    store = metadata_store.MetadataStore(connection)
    run = max(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.create_time_since_epoch)
    node_type = store.get_context_type("node").id
    states = {}
    for execution in store.get_executions_by_context(run.id):
        [node] = [c for c in store.get_contexts_by_execution(execution.id)
                  if c.type_id == node_type]
        states[node.name.split(".", 1)[1]] = metadata_store_pb2.Execution.State.Name(
            execution.last_known_state)
    return states


def _with_epochs(config: RunConfig, epochs: int) -> RunConfig:
    p = config.preset
    return dataclasses.replace(
        config, preset=p.replace(train=dataclasses.replace(p.train, epochs=epochs)))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cache")
    demo_corpus.generate(out / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=4, utterances_per_class_per_speaker=4))
    config = _with_epochs(RunConfig(preset=get_preset("demo"), data_root=str(out / "data"),
                                    output_dir=str(out / "artifacts")), 3)
    local_runner.run(config, tasks=["ter"])
    assert set(_newest_run_states(config).values()) == {"COMPLETE"}
    return config


def test_changing_epochs_reruns_the_trainer_only(first_run):
    local_runner.run(_with_epochs(first_run, 4), tasks=["ter"])
    states = _newest_run_states(first_run)
    for node in ("EmotionExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator",
                 "DataGate", "Transform", "Baselines.ter"):
        assert states[node] == "CACHED", (node, states)
    for node in ("Trainer.ter", "Evaluator.ter", "Gate.ter"):
        assert states[node] == "COMPLETE", (node, states)


def test_editing_the_feature_code_reruns_the_transform(first_run, tmp_path, monkeypatch):
    """A copy of components/transform with one line changed stands for the user's edit."""
    root, _ = code_version.source_files("components.transform")
    edited = tmp_path / "transform"
    shutil.copytree(root, edited, ignore=shutil.ignore_patterns("__pycache__"))
    source = edited / "audio_features.py"
    text = source.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("#"))
    source.write_text(text.replace(line, line + " (edited)", 1))
    original = code_version.source_files

    def edited_sources(module: str):
        if module == "components.transform":
            return edited, sorted(edited.rglob("*.py"))
        return original(module)

    monkeypatch.setattr(code_version, "source_files", edited_sources)
    local_runner.run(_with_epochs(first_run, 4), tasks=["ter"])
    states = _newest_run_states(first_run)
    for node in ("EmotionExampleGen", "StatisticsGen", "ExampleValidator", "DataGate"):
        assert states[node] == "CACHED", (node, states)
    # The Transform reruns; the Trainer and Baselines run on its new outputs.
    for node in ("Transform", "Trainer.ter", "Baselines.ter"):
        assert states[node] == "COMPLETE", (node, states)


def test_no_cache_turns_caching_off_for_every_component(tmp_path):
    from tfx.dsl.compiler import compiler

    from pipeline import pipeline as pipeline_def
    from pipeline.cli import build_parser
    from pipeline.cli_config import run_config

    args = build_parser().parse_args(
        ["run", "--preset", "demo", "--data-root", str(tmp_path), "--output-dir",
         str(tmp_path), "--no-cache"])
    config = run_config(args)
    assert not config.enable_cache
    ir = compiler.Compiler().compile(pipeline_def.create_pipeline(config, tasks=["ter"]))
    assert not any(n.pipeline_node.execution_options.caching_options.enable_cache
                   for n in ir.nodes)
