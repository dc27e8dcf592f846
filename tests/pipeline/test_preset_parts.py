"""Each component's cache key holds the configuration it reads and the code it runs, no more.

These are the compile-time facts behind tests/pipeline/test_cache.py (which runs the
pipeline): what a change to one field or one file does to each component's parameters.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from typing import Optional

import pytest

from components.core.config import ConfigError, Preset, PresetPart, from_dict, to_dict
from pipeline import code_version
from pipeline.configs import PRESETS, get_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_json_round_trip_of_every_preset(name):
    preset = get_preset(name)
    assert Preset.from_json(preset.to_json()) == preset


def test_part_carries_only_its_fields_and_refuses_the_others():
    preset = get_preset("demo")
    part = PresetPart.from_json(preset.part_json("features", "labels"))
    assert part.features == preset.features and part.labels == preset.labels
    assert sorted(json.loads(preset.part_json("features"))) == ["features"]
    with pytest.raises(AttributeError, match="no 'train'.*carries features, labels"):
        _ = part.train


@dataclasses.dataclass(frozen=True)
class Inner:
    pair: tuple[int, int] = (1, 2)


@dataclasses.dataclass(frozen=True)
class Outer:  # stands for a config class someone adds fields to
    names: tuple[str, ...] = ()
    inner: Inner = Inner()
    maybe: Optional[int] = None
    either: float | str = 1.0


def test_serialisation_is_generic_over_the_dataclasses():
    """A field added to a config class needs no serialisation change: from_dict reads type
    hints (tuples, nested dataclasses, unions) rather than a hand-kept list of fields."""
    value = Outer(names=("a", "b"), inner=Inner(pair=(3, 4)), maybe=5, either="auto")
    assert from_dict(Outer, json.loads(json.dumps(to_dict(value)))) == value
    with pytest.raises(ConfigError, match="inner.nope"):
        from_dict(Outer, {"inner": {"nope": 1}})


def _params(preset: Preset) -> dict[str, str]:
    """Each node's compiled parameters (what TFX's cache key is made of) for `preset`."""
    from tfx.dsl.compiler import compiler

    from pipeline import pipeline as pipeline_def
    from pipeline.configs import RunConfig

    ir = compiler.Compiler().compile(pipeline_def.create_pipeline(
        RunConfig(preset=preset, data_root="/data", output_dir="/tmp/mer-parts-test")))
    return {n.pipeline_node.node_info.id: str(n.pipeline_node.parameters) for n in ir.nodes}


def test_a_training_field_changes_only_the_trainers_parameters():
    demo = get_preset("demo")
    base = _params(demo)
    more_epochs = _params(demo.replace(train=dataclasses.replace(demo.train, epochs=7)))
    changed = {k for k in base if base[k] != more_epochs[k]}
    assert changed == {"Trainer.ter", "Trainer.ser", "Trainer.mer"}


def test_another_ser_model_changes_only_the_ser_trainer():
    demo = get_preset("demo")
    other = demo.replace(train=dataclasses.replace(
        demo.train, models={**demo.train.models, "ser": "dense"}))
    base, new = _params(demo), _params(other)
    assert {k for k in base if base[k] != new[k]} == {"Trainer.ser"}


def test_gate_and_split_changes_reach_their_components_only():
    demo = get_preset("demo")
    base = _params(demo)
    margin = _params(demo.replace(gate=dataclasses.replace(demo.gate, baseline_margin=0.2)))
    assert {k for k in base if base[k] != margin[k]} == {"Gate.ter", "Gate.ser", "Gate.mer"}
    split = _params(demo.replace(split=dataclasses.replace(demo.split, seed=1)))
    assert {k for k in base if base[k] != split[k]} == {"EmotionExampleGen"}


def test_code_version_is_deterministic_and_follows_the_files(tmp_path, monkeypatch):
    first = code_version.code_version(code_version.TRANSFORM)
    trainer = code_version.code_version(code_version.TRAINER)
    ingestion = code_version.code_version(code_version.EXAMPLE_GEN)
    assert first == code_version.code_version(code_version.TRANSFORM)
    assert first != trainer
    root, files = code_version.source_files("components.transform")
    assert root / "preprocessing.py" in files and all(f.suffix == ".py" for f in files)

    copy = tmp_path / "transform"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    real = code_version.source_files
    monkeypatch.setattr(code_version, "source_files", lambda m: (
        (copy, sorted(copy.rglob("*.py"))) if m == "components.transform" else real(m)))
    assert code_version.code_version(code_version.TRANSFORM) == first  # same bytes, new place
    (copy / "audio_features.py").write_text((copy / "audio_features.py").read_text() + "\n#")
    assert code_version.code_version(code_version.TRANSFORM) != first
    assert code_version.code_version(code_version.TRAINER) != trainer  # it runs that code too
    assert code_version.code_version(code_version.EXAMPLE_GEN) == ingestion
