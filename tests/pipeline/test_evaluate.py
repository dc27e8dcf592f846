"""`mer evaluate`: a RAVDESS-trained model scored on CREMA-D and on a manifest dataset.

The model is trained the way the pipeline trains (`prepare_split` runs the pipeline's ingestion
and Transform on two RAVDESS actors, `fit_model` trains, `export_model` exports what the Pusher
pushes), briefly: these tests check what cross-corpus scoring reports, not how good it is.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from components.core.config import SplitConfig
from pipeline import evaluate
from pipeline.configs import REPO_ROOT, get_preset
from tests.conftest import shared_dataset

RAVDESS_ACTORS = ("Actor_01", "Actor_02")


@pytest.fixture(scope="module")
def ravdess_model(tmp_path_factory):
    """A SER model trained on 2 RAVDESS actors, pushed as <repo>/ser/1 (TF Serving's layout)."""
    from components.trainer.export import export_model
    from components.trainer.fit import fit_model
    from pipeline.experiments.study_data import prepare_split

    ravdess = shared_dataset("ravdess")
    root = tmp_path_factory.mktemp("eval")
    subset = root / "ravdess"
    for actor in RAVDESS_ACTORS:
        (subset / actor).mkdir(parents=True)
        for clip in (ravdess / actor).iterdir():
            (subset / actor / clip.name).symlink_to(clip)
    preset = get_preset("ravdess")
    ts = prepare_split(preset, str(subset), str(root / "study"), ("ser",),
                       SplitConfig(method="random", seed=1))
    cfg = dataclasses.replace(preset.train, epochs=3, ensemble_size=1, validation_fraction=0.0)
    result = fit_model("ser", "dense", len(ts.labels), ts.tft_output().transformed_feature_spec(),
                       ts.rows("train"), cfg, verbose=0)
    base = root / "serving" / "ser"
    export_model(result.model, ts.tft_output(), "ser", ts.labels, str(base / "1"))
    return base, ts.labels, root


def test_ravdess_model_on_the_cremad_sample(ravdess_model, tmp_path):
    base, labels, _ = ravdess_model
    cremad = shared_dataset("cremad_sample")
    result = evaluate.evaluate_model(str(base), get_preset("cremad"), str(cremad),
                                     str(tmp_path))
    # CREMA-D's six emotions are all RAVDESS emotions; calm and surprised are RAVDESS-only.
    assert set(result.shared_classes) <= set(labels) - {"calm", "surprised"}
    assert result.n_scored == 12 and not result.n_skipped_by_label
    assert np.sum(result.confusion) == result.n_scored
    assert 0.0 <= result.accuracy <= 1.0 and 0.0 <= result.uar <= 1.0
    assert set(result.per_class_recall) <= set(result.shared_classes)
    summary = json.loads(open(result.files["summary"]).read())
    assert summary["shared_classes"] == result.shared_classes
    with open(result.files["confusion_csv"]) as f:
        rows = list(csv.reader(f))
    assert rows[0][1:] == result.shared_classes and len(rows) == len(result.shared_classes) + 1
    assert open(result.files["confusion_png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_manifest_dataset_with_a_label_map_and_an_unshared_class(ravdess_model, tmp_path):
    base, _, _ = ravdess_model
    ravdess = shared_dataset("ravdess")
    # Another dataset's names for the emotions (plus one RAVDESS does not have), as a manifest.
    clips = sorted((ravdess / "Actor_03").iterdir())
    codes = {"05": "anger", "06": "fear", "03": "joy", "02": "boredom"}
    rows = [{"audio_path": str(c), "emotion": codes[c.name.split("-")[2]], "speaker": "a3"}
            for c in clips if c.name.split("-")[2] in codes]
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["audio_path", "emotion", "speaker"])
        w.writeheader()
        w.writerows(rows)
    result = evaluate.evaluate_model(
        str(base), get_preset("manifest"), str(manifest), str(tmp_path / "out"),
        label_map=evaluate.parse_label_map("anger=angry,fear=fearful,joy=happy"))
    assert sorted(result.shared_classes) == ["angry", "fearful", "happy"]
    assert result.n_skipped_by_label == {"boredom": sum(r["emotion"] == "boredom" for r in rows)}
    assert result.n_scored == len(rows) - result.n_skipped_by_label["boredom"]
    lines = "\n".join(result.lines())
    assert "boredom" in lines and "shared classes" in lines

    # Only the class the model does not know: nothing to score, and the error says the fix.
    with pytest.raises(ValueError, match="share none.*--label-map"):
        evaluate.evaluate_model(str(base), get_preset("manifest").replace(labels=("boredom",)),
                                str(manifest), str(tmp_path / "none"))


def test_cli_scores_the_version_serving_would_serve(ravdess_model, tmp_path):
    """`mer evaluate` run as a user runs it, on a model base whose newest version is broken
    (an interrupted copy): like `mer serve` and `mer predict`, it falls back to the newest
    version that loads, says so, and exits 0 (issue 18 item 10; it failed with "Cannot parse
    file ... saved_model.pb" before)."""
    base, _, _ = ravdess_model
    repo = tmp_path / "ser"
    shutil.copytree(base / "1", repo / "1")
    shutil.copytree(base / "1", repo / "2")
    pb = repo / "2" / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[:100])
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "evaluate", "--model-dir", str(repo),
         "--preset", "cremad", "--data-root", str(shared_dataset("cremad_sample")),
         "--output-dir", str(tmp_path / "out")],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"model {repo / '1'} on cremad" in done.stdout
    assert "records scored on the" in done.stdout and "UAR" in done.stdout
    assert "version 2 is not used: cannot parse saved_model.pb" in done.stderr


@pytest.mark.parametrize("text,needle", [("fear", "DATASET_LABEL=MODEL_LABEL"),
                                         ("a=", "a="), ("=b", "=b")])
def test_label_map_syntax_errors_name_the_pair(text, needle):
    with pytest.raises(ValueError, match=needle):
        evaluate.parse_label_map(text)
