"""benchmarks/quality.py measures a candidate recipe with the same --config/--set as `mer run`.

A recipe is judged by the benchmark before it ships in a preset, so the benchmark must change a
preset exactly as `mer run` would (one loader), and refuse a change it cannot apply before it
spends an hour on Transforms and training.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from pipeline.configs import REPO_ROOT, get_preset

SCRIPT = REPO_ROOT / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def quality():  # the benchmark and its parts import each other by name
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import quality as module
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"config": None, "set": None, **kw})


def test_set_changes_the_protocols_preset_as_mer_run_does(quality):
    changed = quality.protocol_preset("psychexp_random", _args(
        set=["train.ensemble_size=2", "train.validation_fraction=0.0"]))
    shipped = get_preset("psychexp")
    assert changed.name == "psychexp"
    assert (changed.train.ensemble_size, changed.train.validation_fraction) == (2, 0.0)
    assert changed.train.models == shipped.train.models
    assert changed.train.learning_rate == shipped.train.learning_rate


def test_without_changes_the_protocol_runs_the_shipped_preset(quality):
    assert quality.protocol_preset("ravdess_speaker", _args()) == get_preset("ravdess")


@pytest.mark.parametrize("argv, says", [
    (["--protocols", "psychexp_random", "--set", "train.ensemble_size=0"],
     "train.ensemble_size must be >= 1"),
    (["--protocols", "psychexp_random", "--config", "/no/such/run.yaml"],
     "--config /no/such/run.yaml: no such file"),
    (["--protocols", "ravdess_random", "--config", "{psychexp_file}"],
     "starts from preset 'psychexp'; protocol ravdess_random runs preset 'ravdess'"),
])
def test_a_change_that_cannot_run_is_refused_before_any_work(tmp_path, argv, says):
    run_file = tmp_path / "run.yaml"
    run_file.write_text("preset: psychexp\ntrain:\n  epochs: 1\n")
    argv = [a.replace("{psychexp_file}", str(run_file)) for a in argv]
    done = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert not done.stdout.strip()  # no protocol started


@pytest.mark.parametrize("protocol", ["psychexp_random", "ravdess_speaker", "goemotions_ekman"])
def test_every_candidate_of_a_protocol_applies_to_its_own_task(quality, protocol):
    """Recipes are grouped by the features they need for the protocol's task (a text preset
    has no SER model to build a speech feature key from)."""
    from quality_recipes import candidates

    preset_name, task, _ = quality.PROTOCOLS[protocol]
    preset = get_preset(preset_name)
    recipes = candidates(preset, task)
    keys = {r.feature_key(preset, task) for r in recipes}
    assert recipes[0].name == "preset" and len(keys) >= 1
    assert recipes[0].apply(preset, task).train.models[task] == preset.train.models[task]


def _record(recipe: str, val, test: float, deployable: bool = True, split: str = "s42"):
    from quality_report import Record

    return Record(protocol="psychexp_random", recipe=recipe, deployable=deployable, split=split,
                  val=val, test=test, uar=test, macro_f1=test, train=90.0, epochs=3,
                  seconds=1.0)


def test_a_recipe_without_a_carve_out_is_the_headline_only_when_it_is_the_one_recipe(quality):
    """--preset-only with every train row in the fit: the preset is the headline (there is
    nothing to select between); beside recipes with validation figures it is never picked on
    test, and the baselines never are."""
    from quality_report import headline

    alone = [_record("preset", None, 69.0), _record("lr", None, 57.0, deployable=False)]
    assert headline(alone)[("psychexp_random", "test")] == pytest.approx(69.0)
    mixed = [_record("preset", None, 75.0), _record("other", 70.0, 60.0)]
    assert headline(mixed)[("psychexp_random", "test")] == pytest.approx(60.0)
    assert headline([_record("lr", None, 57.0, deployable=False)]) == {}
