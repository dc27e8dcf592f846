"""The gate inside the pipeline: a bad model is refused and the served version stays."""

from __future__ import annotations

import dataclasses
import os

import pytest

from pipeline import demo_corpus, local_runner
from pipeline.configs import RunConfig, get_preset
from pipeline.run_summary import RunSummary


def _versions(config, task):
    base = os.path.join(config.serving_dir, task)
    return sorted((d for d in os.listdir(base) if d.isdigit()), key=int) if os.path.isdir(
        base) else []


@pytest.fixture(scope="module")
def base_config(tmp_path_factory):
    out = tmp_path_factory.mktemp("gate")
    demo_corpus.generate(out / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=4, utterances_per_class_per_speaker=10))
    preset = get_preset("demo")
    preset = preset.replace(
        train=dataclasses.replace(preset.train, epochs=40),
        gate=dataclasses.replace(preset.gate, max_regression=0.15, baseline_margin=0.1))
    return RunConfig(preset=preset, data_root=str(out / "data"),
                     output_dir=str(out / "artifacts"))


def _with_train(config, **changes):
    p = config.preset
    return dataclasses.replace(config, preset=p.replace(train=dataclasses.replace(p.train,
                                                                                  **changes)))


def test_bad_model_is_refused_and_previous_version_keeps_serving(base_config):
    good = local_runner.run(base_config, tasks=["ter"]).tasks[0]
    assert good.blessed and good.pushed_this_run, good
    served = _versions(base_config, "ter")
    assert len(served) == 1

    # One training step at a tiny learning rate: a model no better than chance.
    bad_config = _with_train(base_config, train_steps=1, epochs=1, learning_rate=1e-7)
    bad = local_runner.run(bad_config, tasks=["ter"]).tasks[0]
    assert not bad.blessed and not bad.pushed_this_run
    assert any("baseline" in r for r in bad.reasons), bad.reasons
    assert any("last blessed" in r for r in bad.reasons), bad.reasons
    assert _versions(base_config, "ter") == served
    # Evaluated against the last blessed model: the summary names it and still has the UAR.
    assert bad.last_blessed_version == served[0] and bad.last_blessed_accuracy == good.accuracy
    assert bad.balanced_accuracy is not None
    summary_text = "\n".join(RunSummary([bad], {}).lines())
    assert "NOT blessed" in summary_text and "serving stays at version" in summary_text

    # A good model after it (another seed, so not a cache hit) is pushed as a new version.
    again = local_runner.run(_with_train(base_config, seed=7), tasks=["ter"]).tasks[0]
    assert again.blessed and again.pushed_this_run, again
    versions = _versions(base_config, "ter")
    assert len(versions) == 2 and versions[0] == served[0]
