"""`mer run --infer-root`: the pipeline scores a dataset with the SER model it just pushed.

The shared demo run (tests/pipeline/conftest.py) passes its own corpus, corrupt clip included,
as the infer root. What a user relies on: the run says what was scored and where; every listed
recording is scored or quarantined; each row names the pushed version and answers what `mer
predict` answers for that file; the files are those `mer infer` writes. A refused model scores
nothing, and a bad flag fails before anything runs.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from pipeline.configs import REPO_ROOT


def _result_uri(stdout: str) -> str:
    found = re.search(r"^ser: scored (\d+) recordings with version (\S+) \((\d+) quarantined\): "
                      r"(\S+)$", stdout, re.M)
    assert found, stdout[-3000:]
    return found.group(4)


def test_the_run_scores_its_infer_root_with_the_pushed_version(demo_cli_run):
    summary = {t.task: t for t in demo_cli_run.summary.tasks}["ser"]
    assert summary.pushed_this_run
    found = re.search(r"^ser: scored (\d+) recordings with version (\S+) \((\d+) quarantined\)",
                      demo_cli_run.stdout, re.M)
    assert found, demo_cli_run.stdout[-3000:]
    scored, version, quarantined = int(found.group(1)), found.group(2), int(found.group(3))
    # The manifest's clips are scored; the corrupt one is quarantined, not lost.
    assert (scored, quarantined) == (len(demo_cli_run.rows), 1)
    assert version == summary.pushed_version

    uri = _result_uri(demo_cli_run.stdout)
    with open(glob.glob(os.path.join(uri, "predictions-*.csv"))[0], encoding="utf-8") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    table = pq.read_table(glob.glob(os.path.join(uri, "predictions-*.parquet"))).to_pylist()
    assert sorted(rows) == sorted(r["id"] for r in table) \
        == sorted(r["id"] for r in demo_cli_run.rows)
    assert {r["model_version"] for r in rows.values()} == {version}
    with open(os.path.join(uri, "quarantine.csv"), encoding="utf-8") as f:
        assert [r["id"] for r in csv.DictReader(f)] == ["corrupt_1"]
    with open(os.path.join(uri, "summary.csv"), encoding="utf-8") as f:
        measures = dict(csv.reader(f))
    assert measures["recordings scored"] == str(scored)

    # Each row answers what `mer predict --audio FILE` answers with the pushed version.
    from serving.audio import file_to_wav16k
    from serving.backends.inprocess import InProcessModel

    model = InProcessModel(os.path.join(demo_cli_run.config.serving_dir, "ser"))
    assert model.version == version
    for uid, row in sorted(rows.items())[:24]:
        expected = model.predict(audio=file_to_wav16k(row["path"]), top_k=1)[0]
        assert row["top_emotion"] == expected.emotion, uid
        assert float(row[f"p_{expected.emotion}"]) == pytest.approx(expected.probability,
                                                                    abs=1e-5)


def test_a_model_that_was_not_pushed_scores_nothing(tmp_path):
    from tfx.types import standard_artifacts

    from components.bulk_inferrer.executor import PUSHED_MODEL_KEY, RESULT_KEY, Executor

    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    pushed.set_int_custom_property("pushed", 0)
    result = standard_artifacts.InferenceResult()
    result.uri = str(tmp_path / "result")
    Executor().Do({PUSHED_MODEL_KEY: [pushed]}, {RESULT_KEY: [result]},
                  {"preset": "{}", "data_root": str(tmp_path / "nowhere"), "timeline": ""})
    assert result.get_int_custom_property("inferred") == 0
    assert not os.path.exists(result.uri)


@pytest.mark.parametrize("args, message", [
    (["--infer-timeline"], "--infer-timeline needs --infer-root DIR"),
    (["--infer-root", "{tmp}/nowhere"], "--infer-root {tmp}/nowhere does not exist"),
    (["--preset", "psychexp", "--data-root", "{tmp}", "--infer-root", "{tmp}"],
     "--infer-root scores recordings with the SER model; preset 'psychexp' trains ter"),
    (["--tasks", "ter", "--infer-root", "{tmp}"], "add ser to --tasks"),
])
def test_bad_infer_flags_fail_at_once_with_the_fix(tmp_path, args, message):
    argv = ["run", "--output-dir", str(tmp_path / "out")]
    if "--preset" not in args:
        argv += ["--preset", "demo"]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message.replace("{tmp}", str(tmp_path)) in done.stderr, done.stderr
    assert not os.path.exists(tmp_path / "out" / "pipelines")  # nothing ran
