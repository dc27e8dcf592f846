"""Issue 18, items 2, 3 and 9: what the in-process backend does as versions come and go.

* rollback: deleting the version being served unloads it and serves the newest good version
  left (as TF Serving does), and health says so; deleting the last one makes the task
  unavailable instead of answering from a model that is gone;
* memory: a replaced version is released at once (its SavedModel is collected), and RSS stays
  flat over 11 versions picked up one after another (the measured case is marked `faults`);
* health reasons come from the version's files: a missing `variables/` or a symlink loop is
  named as such, not "no saved_model.pb".
"""

from __future__ import annotations

import gc
import os
import shutil
import time

import pytest

from tests.reliability.conftest import copy_version


def _backend(root, batching=None):
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient

    return EmotionClient(InProcessBackend(str(root), reload_interval_s=0.0, batching=batching))


@pytest.mark.parametrize("batching", [None, "config"])
def test_deleting_the_served_version_rolls_back_to_the_newest_left(tmp_path, good_models,
                                                                    fault_report, batching):
    from serving.app.service import PredictService

    for version in (3, 5, 7):
        copy_version(good_models / "ter", tmp_path / "ter", version)
    with _backend(tmp_path, batching) as client:
        assert client.model_version("ter") == "7"
        start = time.monotonic()
        shutil.rmtree(tmp_path / "ter" / "7")
        assert client.model_version("ter") == "5"
        delay = time.monotonic() - start
        assert client.predict("ter", text="I am so happy")[0].emotion == "happy"
        _, health = PredictService(client).health()
        assert health.models["ter"].status == "available"
        assert health.models["ter"].version == "5"
        for version in ("5", "3"):
            shutil.rmtree(tmp_path / "ter" / version)
        _, health = PredictService(client).health()
        assert health.models["ter"].status == "unavailable"
    fault_report(f"served version deleted (batching={batching})",
                 f"served 5 after rm -rf 7 in {delay:.2f} s (+ the re-scan interval, 30 s in "
                 f"mer serve); none left -> unavailable")


def test_a_replaced_version_is_released_at_once(tmp_path, good_models):
    """The graphs of a replaced version are freed when it is replaced, not at some later
    collection: with the interpreter's own gc off, their number stays flat over pickups."""
    from tensorflow.python.framework.func_graph import FuncGraph

    from serving.backends.inprocess import InProcessBackend

    def graphs() -> int:
        return sum(issubclass(type(o), FuncGraph) for o in gc.get_objects())  # no proxies

    copy_version(good_models / "ser", tmp_path / "ser", 1)
    backend = InProcessBackend(str(tmp_path), reload_interval_s=0.0, batching=None)
    counts = []
    gc.disable()  # only the backend's own collection may free them
    try:
        before = graphs()
        backend.model_version("ser")
        per_version = graphs() - before  # what loading one version adds
        for version in (2, 3, 4):
            copy_version(good_models / "ser", tmp_path / "ser", version)
            assert backend.model_version("ser") == str(version)
            counts.append(graphs())
    finally:
        gc.enable()
        backend.close()
    # Kept: two pickups add 2 x per_version; released: about nothing (other tests' threads
    # may add a few graphs meanwhile, never a version's worth).
    assert counts[-1] - counts[0] < per_version, f"{per_version} graphs per version; " \
                                                 f"alive after each pickup: {counts}"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) / 1024 for ln in f if ln.startswith("VmRSS"))


@pytest.mark.faults
def test_rss_stays_flat_over_11_version_pickups(tmp_path, fault_report):
    """A SER version with 16 MB of weights and a 16 MB graph constant (a real SER's graph is
    of that size), picked up 11 times: before the fix RSS grew ~100 MB per pickup."""
    import numpy as np
    import tensorflow as tf

    from components.core.warmup import write_warmup_requests
    from components.core.wav import tone_wav
    from tests.serving.conftest import _build_module

    module, signatures = _build_module("ser", ["neutral", "happy", "sad", "angry"])
    module.w = tf.Variable(tf.random.normal([2048, 2048]))
    big = np.random.rand(2048, 2048).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="audio")])
    def raw(audio):
        out = dict(module.raw(audio))
        out["probabilities"] += 0.0 * tf.reduce_sum(tf.constant(big)) * tf.reduce_sum(module.w)
        return out

    module.heavy = raw
    signatures["predict_raw"] = raw.get_concrete_function()
    src = tmp_path / "src"
    tf.saved_model.save(module, str(src), signatures=signatures)
    write_warmup_requests(str(src), "ser")
    wav = tone_wav(1.0)
    copy_version(src, tmp_path / "repo" / "ser", 1)
    with _backend(tmp_path / "repo", batching="config") as client:
        client.predict("ser", audio=wav)
        copy_version(src, tmp_path / "repo" / "ser", 2)
        client.predict("ser", audio=wav)
        first = _rss_mb()  # two versions have been loaded: the steady state
        for version in range(3, 13):
            copy_version(src, tmp_path / "repo" / "ser", version)
            assert client.model_version("ser") == str(version)
            client.predict("ser", audio=wav)
        per_pickup = (_rss_mb() - first) / 10
    assert per_pickup < 15, f"RSS grew {per_pickup:.1f} MB per version picked up"
    fault_report("11 versions picked up", f"RSS {per_pickup:+.1f} MB per pickup (was ~+100)")


@pytest.mark.parametrize("damage, reason", [
    ("missing", "variables/ is missing"),
    ("loop", "variables/ cannot be read: Too many levels of symbolic links"),
    ("dangling", "variables/ is a symlink to nothing"),
])
def test_health_names_the_damaged_part(tmp_path, good_models, damage, reason):
    from serving.app.service import PredictService

    copy_version(good_models / "ter", tmp_path / "ter", 1)
    broken = copy_version(good_models / "ter", tmp_path / "ter", 2)
    shutil.rmtree(broken / "variables")
    if damage == "loop":
        os.symlink("variables", broken / "variables")
    elif damage == "dangling":
        os.symlink("gone", broken / "variables")
    with _backend(tmp_path) as client:
        _, health = PredictService(client).health()
        ter = health.models["ter"]
        assert ter.version == "1" and ter.failed == {"2": reason}
        if damage != "missing":
            os.unlink(broken / "variables")
        shutil.copytree(good_models / "ter" / "variables", broken / "variables")
        assert client.model_version("ter") == "2"  # repaired in place: retried and served
