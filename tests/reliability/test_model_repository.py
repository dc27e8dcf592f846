"""Probe 1 of issue 13: a broken newest version never takes serving down.

A version whose saved_model.pb is truncated (what an interrupted copy leaves) is refused by the
in-process backend with the reason, the version before it keeps serving, and `/api/health`,
the log and `mer predict` say so, whether the broken version was there at start or appears
while the server runs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.reliability.conftest import copy_version, truncate

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path, good_models) -> Path:
    """ter 17 (good) and 18 (truncated saved_model.pb); ser 17; mer 17."""
    root = tmp_path / "serving"
    for task in ("ter", "ser", "mer"):
        copy_version(good_models / task, root / task, 17)
    truncate(copy_version(good_models / "ter", root / "ter", 18))
    return root


def test_broken_newest_version_is_refused_and_the_older_one_serves(repo, fault_report, caplog):
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient

    with caplog.at_level(logging.WARNING, logger="mer.serve"), \
            EmotionClient(InProcessBackend(str(repo), batching=None)) as client:
        assert client.model_version("ter") == "17"
        assert client.predict("ter", text="I am so happy")[0].emotion == "happy"
        failed = client.model_failures("ter")
    assert list(failed) == ["18"] and "cannot parse saved_model.pb" in failed["18"]
    assert any("ter version 18 is not served" in r.getMessage() for r in caplog.records)
    fault_report("corrupt newest version at start", f"served 17; health: 18 {failed['18']!r}")


def test_broken_version_appearing_while_serving_keeps_the_old_one(repo, good_models,
                                                                  fault_report):
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient

    base = repo / "ter"
    with EmotionClient(InProcessBackend(str(repo), reload_interval_s=0.0,
                                        batching=None)) as client:
        assert client.model_version("ter") == "17"
        truncate(copy_version(good_models / "ter", base, 19))  # appears while serving
        answers = [client.predict("ter", text="so sad and lonely")[0].emotion for _ in range(5)]
        assert answers == ["sad"] * 5 and client.model_version("ter") == "17"
        assert set(client.model_failures("ter")) == {"18", "19"}
        # A broken version repaired in place is retried (its saved_model.pb changed).
        pb = (good_models / "ter" / "saved_model.pb").read_bytes()
        (base / "19" / "saved_model.pb").write_bytes(pb)
        assert client.model_version("ter") == "19"
        assert client.model_failures("ter") == {}  # 18 is older than what serves: moot
        copy_version(good_models / "ter", base, 20)  # a complete push replaces it
        assert client.model_version("ter") == "20"
        assert client.predict("ter", text="I am furious")[0].emotion == "angry"
    fault_report("corrupt version appears while serving",
                 "kept 17; served 19 once repaired, 20 once pushed")


def test_no_loadable_version_names_each_reason(tmp_path, good_models):
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient
    from serving.errors import ModelNotFoundError

    truncate(copy_version(good_models / "ser", tmp_path / "ser", 3))
    (tmp_path / "ser" / "4").mkdir()  # an empty version folder
    with EmotionClient(InProcessBackend(str(tmp_path), batching=None)) as client:
        with pytest.raises(ModelNotFoundError) as err:
            client.model_version("ser")
    assert "version 4: no saved_model.pb" in str(err.value)
    assert "version 3: cannot parse saved_model.pb" in str(err.value)
    assert str(tmp_path) not in err.value.public_message("")


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_fresh_mer_serve_starts_on_the_older_version_and_health_says_why(repo, fault_report):
    """`mer serve` as a user starts it, with the broken version already there."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port), "--model-dir",
         str(repo)], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, health = _get(f"http://127.0.0.1:{port}/api/health")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "mer serve did not start in 120 s"
                time.sleep(0.5)
        codes = [_post(f"http://127.0.0.1:{port}/api/predict",
                       {"text": "I love this", "tasks": "ter"})[0] for _ in range(10)]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert status == 200 and health["status"] == "ok"
    ter = health["models"]["ter"]
    assert ter["version"] == "17"
    assert list(ter["failed"]) == ["18"] and "cannot parse saved_model.pb" in ter["failed"]["18"]
    assert str(repo) not in json.dumps(health)
    assert codes == [200] * 10
    assert "ter version 18 is not served" in out
    fault_report("fresh `mer serve` with corrupt newest", f"health 200 ter={ter}; 10/10 TER 200")


def test_mer_predict_reports_a_broken_task_and_answers_the_others(repo, fault_report):
    for version in os.listdir(repo / "mer"):
        truncate(repo / "mer" / version)  # mer: nothing loads
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "predict", "--model-dir", str(repo), "--text",
         "I am so happy today"], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert "ter:\n  happy" in done.stdout
    assert "ter: version 18 is not served: cannot parse saved_model.pb" in done.stderr
    # the version that answers is named (it said "serving version none" while 17 answered)
    assert "serving version 17 instead" in done.stderr and "version none" not in done.stderr
    assert "mer: skipped" in done.stdout  # no audio given: mer is skipped before loading
    wav = repo.parent / "tone.wav"
    from tests.reliability.conftest import wav_bytes

    wav.write_bytes(wav_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "predict", "--model-dir", str(repo), "--text",
         "I am so happy today", "--audio", str(wav), "--no-asr"], env=env, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert "mer: error: no 'mer' version" in done.stderr and "cannot parse" in done.stderr
    assert "ter:\n  happy" in done.stdout and "ser:\n" in done.stdout
    assert done.returncode == 2
    fault_report("`mer predict` with a broken task", "ter+ser answered, mer reported, exit 2")
