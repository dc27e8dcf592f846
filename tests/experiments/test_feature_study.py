"""The feature study: tables, ordering, files, on synthetic clips and a RAVDESS subset.

Kept quick (one run, two CNN epochs, small sets): these tests check the study's mechanics
(it runs the pipeline's ingestion and Transform once per split and slices the columns), not
the accuracies it reports; the numbers themselves are in docs/features.md.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.configs import SHARED_DATASETS
from pipeline.experiments import feature_study as fs

SR = 16000
RAVDESS = SHARED_DATASETS / "ravdess"
CLASSES = ("neutral", "happy", "sad", "angry")
STUDY_MODELS = ("linsvm", "cnn1d")  # a baseline and the CNN: both code paths, a quick run


def _clip(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Four easily separable sound types, with jitter in pitch, level and length (1-4 s)."""
    n = int(SR * rng.uniform(1.0, 4.0))  # both padded and trimmed to 3 s
    t = np.arange(n) / SR
    amp = rng.uniform(0.1, 0.5)
    if kind == "neutral":  # low harmonic tone
        f0 = rng.uniform(110, 140)
        y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3))
    elif kind == "happy":  # high tone
        y = np.sin(2 * np.pi * rng.uniform(1800, 2200) * t)
    elif kind == "sad":  # white noise
        y = rng.standard_normal(n)
    else:  # noise bursts
        y = rng.standard_normal(n) * (np.sin(2 * np.pi * 4 * t) > 0)
    y = y / (np.max(np.abs(y)) + 1e-9)
    return (amp * y).astype(np.float32)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    """40 clips, 4 classes, 5 speakers, as a `manifest` preset dataset."""
    root = tmp_path_factory.mktemp("synthetic_ser")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        emotion = CLASSES[i % 4]
        rel = f"spk{i % 5}/clip{i:02d}.wav"
        (root / rel).parent.mkdir(exist_ok=True)
        sf.write(root / rel, _clip(emotion, rng), SR, subtype="PCM_16")
        rows.append({"audio_path": rel, "emotion": emotion, "speaker": f"spk{i % 5}"})
    with open(root / "manifest.csv", "w", newline="") as f:  # the manifest reader's columns
        writer = csv.DictWriter(f, fieldnames=["audio_path", "emotion", "speaker"])
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture(scope="module")
def synthetic_study(synthetic_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("study_out")
    lines: list[str] = []
    result = fs.run_feature_study(synthetic_root, preset="manifest", runs=1, epochs=2,
                                  models=STUDY_MODELS, output_dir=out, progress=lines.append)
    return result, out, lines


def _check_tables(result: fs.FeatureStudyResult, n_records: int) -> None:
    names = {fs.combination_name(k) for k in fs.COMBINATIONS}
    assert len(result.records) == n_records
    for key, table in (("max", result.max_table), ("mean", result.mean_table)):
        assert len(table) == 7
        assert {row["combination"] for row in table} == names
        values = [row[key] for row in table]
        assert all(0.0 <= v <= 100.0 for v in values)
        assert values == sorted(values, reverse=True)
        for row in table:
            assert row["ref_" + key] == fs.REFERENCE_IEMOCAP[row["combination"]][key]
    for row in result.max_table:
        assert row["max"] >= row["mean"]


@pytest.mark.slow  # a full study run (~1 min): `make test-slow`
def test_synthetic_study_tables_and_files(synthetic_study):
    result, out, lines = synthetic_study
    _check_tables(result, n_records=7 * len(STUDY_MODELS))
    assert result.config["n_clips"] == 40 and result.config["n_classes"] == 4
    # One progress line per (combination, model), plus the feature lines.
    assert sum(line.startswith("[") for line in lines) == 7 * len(STUDY_MODELS)
    # The classes are trivially separable, so labels and features must line up.
    assert result.max_table[0]["max"] >= 75.0

    with open(out / "feature_study_tables.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["combination"] for r in rows] == [r["combination"] for r in result.mean_table]
    with open(out / "feature_study_runs.csv") as f:
        assert len(list(csv.DictReader(f))) == len(result.records)
    md = (out / "feature_study.md").read_text()
    assert "Max test accuracy" in md and "Mean test accuracy" in md and "cnn1d" in md
    assert set(result.files) == {"runs_csv", "tables_csv", "markdown"}
    text = "\n".join(result.table_lines())
    assert "reference = IEMOCAP-4" in text


def test_reference_table_is_the_thesis_table():
    # ../shared/reference/thesis-summary.md, "Features": ordered by max test accuracy.
    by_max = sorted(fs.REFERENCE_IEMOCAP, key=lambda n: -fs.REFERENCE_IEMOCAP[n]["max"])
    assert by_max == ["mfcc+chroma", "mfcc", "mfcc+mel", "mfcc+mel+chroma", "mel+chroma",
                      "mel", "chroma"]
    assert max(fs.REFERENCE_IEMOCAP, key=lambda n: fs.REFERENCE_IEMOCAP[n]["mean"]) == (
        "mfcc+mel+chroma")


def test_column_slices_equal_per_combination_features():
    """Slicing the 180-vector is the same as computing each combination on its own."""
    import tensorflow as tf

    from components.transform import audio_features as af

    rng = np.random.default_rng(1)
    x = tf.constant(np.stack([_clip(k, rng)[:SR] for k in CLASSES]).astype(np.float32))
    full = af.utterance_features(x).numpy()
    assert list(fs.feature_columns(("mfcc",))) == list(range(0, 40))
    assert list(fs.feature_columns(("mel",))) == list(range(40, 168))
    assert list(fs.feature_columns(("chroma",))) == list(range(168, 180))
    for kinds in fs.COMBINATIONS:
        alone = af.utterance_features(x, kinds=kinds).numpy()
        np.testing.assert_array_equal(full[:, fs.feature_columns(kinds)], alone)


def test_bad_arguments_and_missing_data(tmp_path, synthetic_root):
    with pytest.raises(ValueError, match="unknown model"):
        fs.run_feature_study(synthetic_root, models=("svm",), progress=None)
    with pytest.raises(FileNotFoundError):
        fs.run_feature_study(tmp_path / "nope", progress=None)


@pytest.mark.slow  # a second full study run: `make test-slow`
def test_cli_runs_the_study(synthetic_root, tmp_path, capsys):
    from pipeline.experiments import cli as experiments_cli

    parser = argparse.ArgumentParser(prog="mer")
    experiments_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([
        "experiment", "features", "--preset", "manifest", "--data-root", str(synthetic_root),
        "--runs", "1", "--split", "speaker", "--models", "mnb,lr", "--output-dir",
        str(tmp_path)])
    assert args.fn(args) == 0
    out = capsys.readouterr().out
    assert "Max test accuracy per combination" in out and "Mean test accuracy" in out
    assert (tmp_path / "feature_study.md").exists()
    with pytest.raises(SystemExit):
        parser.parse_args(["experiment", "features", "--models", "svm"])


@pytest.mark.slow  # a second full study run: `make test-slow`
def test_ravdess_study_on_two_actors(tmp_path):
    if not (RAVDESS / "manifest.csv").is_file():
        pytest.skip(f"RAVDESS not found at {RAVDESS} (../shared is only beside the team's "
                    f"checkouts and CI)")
    # The real-data path (the RAVDESS reader, FLAC -> WAV bytes, 8 labels) on 2 of the 24
    # actors (120 clips), linked into a tree the reader lists like the full one.
    subset = tmp_path / "ravdess"
    subset.mkdir()
    for actor in ("Actor_01", "Actor_02"):
        (subset / actor).mkdir()
        for clip in (RAVDESS / actor).iterdir():
            (subset / actor / clip.name).symlink_to(clip)
    result = fs.run_feature_study(subset, preset="ravdess", runs=1, models=("lr", "mnb"),
                                  output_dir=tmp_path / "out", progress=None)
    assert result.config["n_clips"] == 120 and result.config["n_classes"] == 8
    _check_tables(result, n_records=7 * 2)
