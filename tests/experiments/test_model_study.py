"""The model study's mechanics on a tiny synthetic corpus: files, numbers, splits, cache, CLI.

The demo corpus generator gives 64 clips (4 speakers x 4 emotions x 4); each split goes through
the pipeline's own ingestion and Transform, then one baseline and the 1D CNN (2 epochs) train
on it, once on a random and once on a speaker split. The tests check that what the report
claims is consistent with what was run, and that it ran the pipeline's code: not accuracies.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from pipeline.demo_corpus import DemoCorpusConfig, generate
from pipeline.experiments import model_study as ms
from pipeline.experiments import model_study_cli
from pipeline.experiments.report_reference import load_reference, match_reference, table46_reference
from pipeline.experiments.report_summary import pm

MODELS = ["linsvm", "cnn1d"]
RUNS = 2  # two seeded splits per method: the summary's mean and spread are over real repeats


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("demo") / "corpus",
                    DemoCorpusConfig(n_speakers=4, utterances_per_class_per_speaker=4))


@pytest.fixture(scope="module")
def study(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("model_study")
    lines: list[str] = []
    result = ms.run_model_study("demo", corpus, MODELS, runs=RUNS, split="random,speaker",
                                output_dir=out, epochs=2, progress=lines.append, task="ser")
    return result, out, lines


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # shares the module's study run (~1.5 min): `make test-slow`
def test_files_and_figures(study):
    result, out, _ = study
    for name in ("runs.csv", "summary.csv", "results.md", "report.html", "splits.csv",
                 "config.json"):
        assert (out / name).is_file(), name
    for split in ("random", "speaker"):
        for model in MODELS:
            for kind in ("counts", "normalised"):
                png = out / "confusion" / f"{split}-{model}-{kind}.png"
                assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert (out / "curves" / f"{split}-cnn1d.png").is_file()
        curves = _rows(out / "curves" / f"{split}-cnn1d.csv")
        assert len(curves) == RUNS * 2  # every run x 2 epochs
        assert not (out / "curves" / f"{split}-linsvm.png").exists()  # baselines have no curves
    page = (out / "report.html").read_text()
    sources = re.findall(r"src='([^']+)'", page)
    assert len(sources) == 2 * (2 * 2 + 1)  # per split: 2 confusion PNGs x 2 models + curves
    for src in sources:
        assert not src.startswith(("/", "file:", "http")), src  # relative: the folder moves
        assert (out / src).is_file(), src
    assert "<style>" in page and "<script" not in page


@pytest.mark.slow  # shares the module's study run (~1.5 min): `make test-slow`
def test_mean_std_match_runs(study):
    result, out, _ = study
    runs = _rows(out / "runs.csv")
    assert len(runs) == 2 * RUNS * len(MODELS)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in runs:
        groups[(r["split"], r["model"])].append(r)
    summary = {(r["split"], r["model"]): r for r in _rows(out / "summary.csv")}
    markdown = (out / "results.md").read_text()
    assert set(summary) == set(groups)
    for key, mine in groups.items():
        for metric, column in (("test_accuracy", "test_acc"), ("train_accuracy", "train_acc")):
            values = np.array([float(r[metric]) for r in mine])
            assert float(summary[key][f"{column}_mean"]) == pytest.approx(values.mean(), abs=1e-3)
            assert float(summary[key][f"{column}_std"]) == pytest.approx(values.std(), abs=1e-3)
            assert pm(values.mean(), values.std()) in markdown
        # The confusion matrix is summed over the runs: it counts every test example once.
        with open(out / "confusion" / f"{key[0]}-{key[1]}.csv") as f:
            cm = np.array([[int(v) for v in line.split(",")[1:]] for line in list(f)[1:]])
        assert cm.shape == (4, 4)
        assert cm.sum() == sum(int(r["n_test"]) for r in mine)
        correct = sum(round(float(r["test_accuracy"]) * int(r["n_test"]) / 100) for r in mine)
        assert np.trace(cm) == correct


@pytest.mark.slow  # shares the module's study run (~1.5 min): `make test-slow`
def test_speaker_split_keeps_speakers_disjoint(study):
    _, out, _ = study
    sides: dict[tuple[str, str], dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for r in _rows(out / "splits.csv"):
        sides[(r["split"], r["run"])][r["assignment"]].add(r["speaker"])
    assert set(sides) == {(split, str(run)) for split in ("random", "speaker")
                          for run in range(1, RUNS + 1)}
    for (split, _run), side in sides.items():
        shared = side["train"] & side["test"]
        if split == "speaker":
            assert not shared and side["test"]
        else:
            assert shared  # random is speaker-dependent, which is why the report says so
    for r in _rows(out / "runs.csv"):
        assert (int(r["shared_speakers"]) == 0) == (r["split"] == "speaker")
        if r["split"] == "speaker":
            assert r["eval_speakers"]


@pytest.mark.slow  # shares the module's study run (~1.5 min): `make test-slow`
def test_progress_one_line_per_run(study):
    _, _, lines = study
    run_lines = [line for line in lines
                 if re.search(rf"run \d/{RUNS} .*test .*%.*elapsed", line)]
    assert len(run_lines) == 2 * RUNS * len(MODELS)
    assert all(any(m in line for m in MODELS) for line in run_lines)


@pytest.mark.slow  # shares the module's study run (~1.5 min): `make test-slow`
def test_splits_are_the_pipelines_and_a_rerun_is_served_from_its_cache(study, corpus):
    """The study's split is the ExampleGen's (its splits.csv), and TFX caches the Transform."""
    from components.core.config import SplitConfig
    from pipeline.configs import get_preset
    from pipeline.experiments.study_data import prepare_split

    result, out, _ = study
    ts = prepare_split(get_preset("demo"), str(corpus), str(out / "cache"), ("ser",),
                       SplitConfig(method="speaker", seed=0))
    assert ts.cached  # same data, config and code as the study's first speaker run
    study_rows = [r for r in _rows(out / "splits.csv")
                  if (r["split"], r["run"]) == ("speaker", "1")]
    assert {(r["id"], r["assignment"]) for r in study_rows} == {
        (r["id"], "test" if r["split"] == "eval" else "train") for r in ts.assignments()}
    again = ms.run_model_study("demo", corpus, ["linsvm"], runs=1, split="speaker",
                               output_dir=out / "again", epochs=1, progress=None,
                               cache_dir=out / "cache", task="ser")
    assert again.records[0]["n_test"] + again.records[0]["n_train"] == 64
    first = next(r for r in result.records
                 if (r["split"], r["run"], r["model"]) == ("speaker", 1, "linsvm"))
    assert again.records[0]["test_accuracy"] == first["test_accuracy"]


@pytest.mark.slow  # shares the module's study run (~1.5 min): `make test-slow`
def test_cli(corpus, study, tmp_path):
    _, out, _ = study
    parser = argparse.ArgumentParser()
    model_study_cli.add_arguments(parser)
    args = parser.parse_args(["--preset", "demo", "--models", "linsvm", "--runs", "1",
                              "--split", "speaker", "--data-root", str(corpus),
                              "--output-dir", str(tmp_path / "cli"), "--task", "ser",
                              "--cache-dir", str(out / "cache")])
    assert args.models == ["linsvm"] and args.split == ["speaker"]
    assert model_study_cli.main(args) == 0
    assert (tmp_path / "cli" / "report.html").is_file()
    with pytest.raises(SystemExit):
        parser.parse_args(["--models", "linsvm", "--split", "sideways"])


def test_bad_requests_fail_before_any_work(corpus, tmp_path):
    with pytest.raises(ValueError, match="--task"):  # demo has 3 tasks; baselines don't say
        ms.run_model_study("demo", corpus, ["linsvm"], 1, "random", tmp_path)
    with pytest.raises(ValueError, match="cnn1d"):  # unknown model: the message lists names
        ms.run_model_study("demo", corpus, ["cnn9d"], 1, "random", tmp_path, task="ser")


REFERENCE_HEADER = ("task,dataset,model,train_acc_mean,train_acc_std,test_acc_mean,test_acc_std,"
                    "protocol\n")
REFERENCE_ROWS = REFERENCE_HEADER + """\
SER,RAVDESS-8,LinSVM,61.42,0.00,48.25,0.00,speaker-dependent random 80/20; 3 s clips
SER,RAVDESS-8,TRILL,79.46,1.57,67.13,2.32,speaker-dependent random 80/20; 3 s clips
SER,RAVDESS-8,TRILL (speaker-independent),,,50.89,3.20,speakers disjoint between train and test
TER,PsychExp-7,LinSVM (TFIDF),78.04,0.00,57.89,0.00,random 80/20; mean over 10 runs
MER,IEMOCAP-4,Electra + 1D CNN,85.99,0.71,67.39,0.79,speaker-dependent random 80/20; early fusion
"""


def test_reference_lookup_compares_only_like_with_like(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text(REFERENCE_ROWS)
    rows = load_reference(path)
    same = match_reference(rows, "ravdess", "ser", "linsvm", "random")
    assert same.comparable and same.row.test_mean == 48.25
    other = match_reference(rows, "ravdess", "ser", "linsvm", "speaker")
    assert not other.comparable and other.row is None and "protocol differs" in other.note
    trill = match_reference(rows, "ravdess", "ser", "trill_lstm", "speaker")
    assert trill.comparable and trill.row.test_mean == 50.89
    assert match_reference(rows, "psychexp", "ter", "linsvm", "random").row.test_mean == 57.89
    fusion = match_reference(rows, "iemocap", "mer", "electra+cnn1d", "random")
    assert fusion.comparable and fusion.row.test_mean == 67.39
    assert not match_reference(rows, "demo", "ser", "linsvm", "random").comparable
    assert not match_reference(rows, "ravdess", "ser", "linsvm", "loso").comparable
    table = table46_reference(rows)
    assert [(r["model"], round(r["drop"], 2)) for r in table] == [("TRILL", 16.24)]
