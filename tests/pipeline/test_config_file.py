"""Run configuration files and --set: a preset as a file, edits that reach the run, and bad
keys, types and values failing before anything runs, naming the key, file and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from components.core.config import Preset
from pipeline import cli, cli_config, config_file
from pipeline.configs import PRESETS, REPO_ROOT, get_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_show_prints_a_file_that_loads_back_as_the_preset(tmp_path, name):
    path = tmp_path / "run.yaml"
    path.write_text(config_file.show(name))
    assert config_file.load(str(path)).preset == get_preset(name)


def test_an_edited_file_is_the_run_recipe(tmp_path):
    text = config_file.show("ravdess")
    epochs = get_preset("ravdess").train.epochs
    assert f"  epochs: {epochs}\n" in text and "  method: random\n" in text
    text = text.replace(f"  epochs: {epochs}\n", "  epochs: 20\n").replace(
        "  method: random\n", "  method: speaker\n")
    text += "models: {ser: cnn2d}\n"
    path = tmp_path / "r.yaml"
    path.write_text(text)
    args = cli.build_parser().parse_args(["run", "--config", str(path), "--data-root", "/"])
    preset = cli_config.run_config(args).preset
    assert preset.train.epochs == 20 and preset.split.method == "speaker"
    assert preset.train.models["ser"] == "cnn2d"
    assert preset.train.models == {**get_preset("ravdess").train.models, "ser": "cnn2d"}  # merged
    assert preset.labels == get_preset("ravdess").labels


def test_a_short_file_changes_only_what_it_names_and_paths_are_relative_to_it(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "short.yaml"
    path.write_text("preset: demo\ndata_root: data\ntrain: {learning_rate: 0.0005}\n"
                    "reader_options: {label_col: feeling}\nlabels: [calm, angry]\n")
    loaded = config_file.load(str(path))
    demo = get_preset("demo")
    assert loaded.data_root == str(tmp_path / "data")
    assert loaded.preset.train.learning_rate == 0.0005
    assert loaded.preset.train.epochs == demo.train.epochs
    assert loaded.preset.reader_options == {"label_col": "feeling"}
    assert loaded.preset.labels == ("calm", "angry")


def test_json_files_work_too(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"preset": "psychexp", "train": {"epochs": 5},
                                "gate": {"baseline_margin": 0.05}}))
    preset = config_file.load(str(path)).preset
    assert preset.train.epochs == 5 and preset.gate.baseline_margin == 0.05


def test_set_overrides_file_and_preset_with_either_models_spelling(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("preset: demo\ntrain:\n  epochs: 5\n")
    run = config_file.load(str(path), sets=["train.epochs=20", "models.ser=cnn2d",
                                            "train.models.mer=minilm+cnn1d",
                                            "split.eval_speakers=[s1, s2]"])
    assert run.preset.train.epochs == 20
    assert run.preset.train.models == {"ter": "tfidf_dense", "ser": "cnn2d",
                                       "mer": "minilm+cnn1d"}
    assert run.preset.split.eval_speakers == ("s1", "s2")
    assert config_file.load(None, ["gate.min_accuracy=0.5"], "tess").preset.gate.min_accuracy \
        == 0.5


def _error(tmp_path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(config_file.ConfigFileError) as err:
        config_file.load(str(path))
    return str(err.value)


def test_unknown_key_names_it_the_file_line_and_the_allowed_keys(tmp_path):
    message = _error(tmp_path, "preset: demo\ntrain:\n  epochs: 3\n  epochz: 20\n")
    assert "bad.yaml:4" in message and "epochz" in message
    assert "epochs" in message and "learning_rate" in message  # what is allowed there
    top = _error(tmp_path, "preset: demo\nlabel: [a]\n")
    assert "bad.yaml:2" in top and "'label'" in top and "labels" in top


def test_wrong_type_names_the_key_and_line(tmp_path):
    message = _error(tmp_path, "preset: demo\ntrain:\n  batch_size: many\n")
    assert "bad.yaml:3" in message and "train.batch_size" in message and "integer" in message
    message = _error(tmp_path, "preset: demo\nlabels: angry\n")
    assert "bad.yaml:2" in message and "labels" in message


@pytest.mark.parametrize("text, key, allowed", [
    ("split:\n  method: sideways\n", "split.method", "random, speaker, kfold, loso"),
    ("models:\n  ser: cnn3d\n", "train.models.ser", "cnn1d, cnn2d"),
    ("tasks: [ter, xer]\n", "tasks", "ter, ser, mer"),
    ("gate:\n  baselines: [svm]\n", "gate.baselines", "linsvm, rf, mnb, lr"),
    ("features:\n  duration_s: soon\n", "features", "seconds or 'auto'"),
    ("train:\n  epochs: 0\n", "train.epochs", "at least 1"),
])
def test_bad_values_name_the_key_line_and_what_is_allowed(tmp_path, text, key, allowed):
    message = _error(tmp_path, "preset: demo\n" + text)
    assert key in message and allowed in message, message
    assert "bad.yaml:" in message


def test_unknown_preset_and_missing_preset_are_explained(tmp_path):
    assert "ravdes" in _error(tmp_path, "preset: ravdes\n") and "ravdess" in _error(
        tmp_path, "preset: ravdes\n")
    assert "preset:" in _error(tmp_path, "train: {epochs: 3}\n")


def test_unknown_reader_is_named_with_the_readers(tmp_path):
    message = _error(tmp_path, "preset: manifest\nreader: csvfile\n")
    assert "bad.yaml:2" in message and "csvfile" in message and "manifest, meld" in message


def test_models_shorthand_must_map_tasks(tmp_path):
    message = _error(tmp_path, "preset: demo\nmodels: cnn2d\n")
    assert "bad.yaml:2" in message and "{ser: cnn2d}" in message


def test_set_needs_key_equals_value():
    with pytest.raises(config_file.ConfigFileError, match="KEY=VALUE"):
        config_file.load(None, ["train.epochs"], "demo")


def test_a_bad_file_fails_in_the_cli_without_importing_tensorflow(tmp_path):
    """`mer run --config bad.yaml` exits with the key named, before TensorFlow is loaded (which
    is what makes it fail fast: TF alone takes seconds to import)."""
    path = tmp_path / "bad.yaml"
    path.write_text("preset: ravdess\ndata_root: /nowhere\ntrain:\n  epochz: 20\n")
    probe = ("import sys\nfrom pipeline import cli\ntry:\n    cli.main(['run', '--config', "
             f"{str(path)!r}])\nexcept SystemExit as e:\n    print('EXIT', e)\n"
             "print('TF', 'tensorflow' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, timeout=120, cwd=REPO_ROOT)
    out = out.stdout + out.stderr
    assert "bad.yaml:4" in out and "epochz" in out, out
    assert "TF False" in out, out


def test_config_show_command_prints_the_preset(capsys):
    assert cli.main(["config", "show", "tess"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# ") and "preset: tess" in text and "labels: [" in text


def test_every_field_of_the_schema_is_in_the_file():
    """The file is derived from the dataclasses, so a new field shows up without edits here."""
    text = config_file.show("demo")
    import dataclasses

    for f in dataclasses.fields(Preset):
        assert f"\n{f.name}:" in text, f.name
    for section in ("split", "features", "train", "gate"):
        for f in dataclasses.fields(getattr(get_preset("demo"), section)):
            assert f"\n  {f.name}:" in text, (section, f.name)


def test_docs_example_file_loads(tmp_path):
    """The example in docs/running.md is a file users copy."""
    text = (REPO_ROOT / "docs" / "running.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(block)
    preset = config_file.load(str(path)).preset
    assert preset.name == "ravdess" and preset.split.method == "speaker"
