"""`mer infer --runner flink` on the local Flink cluster: the same rows as the DirectRunner's test
(tests/pipeline/test_infer.py), checked against `mer predict`'s code path clip by clip.

Part of `make test-flink` (and so of `.ci/run`): 92 s (+13 s set-up) on 2 shared cores, paid
for because "the same output on the DirectRunner and on Flink" is what `mer infer` promises.

All 1440 RAVDESS clips on Flink against the DirectRunner is a by-hand check too (docs/serving.md,
"Measured: timelines and bulk inference").
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import urllib.request

import pytest

from tests.pipeline.test_infer import corpus, run_mer, ser_model  # noqa: F401 - fixtures

pytestmark = pytest.mark.flink

FLINK_MASTER = os.environ.get("MER_FLINK_MASTER", "localhost:8081")


@pytest.fixture(scope="module")
def flink_master() -> str:
    try:
        with urllib.request.urlopen(f"http://{FLINK_MASTER}/overview", timeout=10) as r:
            overview = json.load(r)
    except OSError as e:
        pytest.skip(f"no Flink cluster at {FLINK_MASTER} ({e}); `make test-flink` starts one "
                    f"with scripts/flink_cluster.sh")
    assert overview["taskmanagers"] >= 1, overview
    return FLINK_MASTER


def test_infer_on_flink_answers_as_predict_does(flink_master, ser_model, corpus, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    proc = run_mer("infer", "--model-dir", ser_model, "--data-root", corpus, "--out", str(out),
                   "--runner", "flink", "--flink-master", flink_master)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"recordings scored\s+16\n", proc.stdout), proc.stdout
    rows = [r for f in glob.glob(str(out / "predictions-*.csv"))
            for r in csv.DictReader(open(f, encoding="utf-8"))]
    assert len(rows) == 16

    from serving.audio import file_to_wav16k
    from serving.backends.inprocess import InProcessModel

    model = InProcessModel(ser_model)
    for row in rows:
        expected = model.predict(audio=file_to_wav16k(row["path"]), top_k=1)[0]
        assert row["top_emotion"] == expected.emotion, row["id"]
    with open(out / "quarantine.csv", encoding="utf-8") as f:
        assert sorted(r["reason"] for r in csv.DictReader(f)) == [
            "duplicate_id", "missing_file", "truncated_audio"]
