"""The hub handle registry: names, URLs, local paths, overrides, and loading as a Keras layer."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest
import tensorflow as tf

from components.trainer.models import hub_handles
from components.trainer.models.hub_handles import (
    DEFAULT_HANDLES,
    load_keras_layer,
    resolve_handle,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(hub_handles.ENV_HANDLES, raising=False)
    monkeypatch.setenv(hub_handles.ENV_CACHE, str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_savedmodel(tmp_path_factory) -> str:
    """A Reusable SavedModel computing x @ w + 1, with w as its (trainable) variable."""
    w = tf.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], name="w")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def call(x):
        return tf.matmul(x, w) + 1.0

    root = tf.train.Checkpoint()
    root.w = w
    root.__call__ = call
    root.variables = [w]
    root.trainable_variables = [w]
    root.regularization_losses = []
    path = str(tmp_path_factory.mktemp("tiny") / "model")
    tf.saved_model.save(root, path)
    return path


def test_url_is_returned_as_is():
    url = "https://tfhub.dev/google/yamnet/1"
    assert resolve_handle(url) == url
    assert resolve_handle("yamnet") == DEFAULT_HANDLES["yamnet"] == url
    assert resolve_handle("bert_en_uncased_L-12_H-768_A-12").startswith("https://tfhub.dev/")
    assert resolve_handle("gs://bucket/model") == "gs://bucket/model"


def test_default_registry_covers_the_model_zoo():
    assert {"bert_en_uncased_L-12_H-768_A-12", "bert_en_uncased_preprocess", "electra_small",
            "electra_small_preprocess", "yamnet", "trill", "minilm",
            "minilm_preprocess"} <= set(DEFAULT_HANDLES)
    assert DEFAULT_HANDLES["trill"] == "https://tfhub.dev/google/nonsemantic-speech-benchmark/trill/3"


def test_local_path_resolves_to_absolute_dir(tiny_savedmodel, monkeypatch):
    assert resolve_handle(tiny_savedmodel) == os.path.realpath(tiny_savedmodel)
    assert resolve_handle(f"file://{tiny_savedmodel}") == os.path.realpath(tiny_savedmodel)
    monkeypatch.chdir(os.path.dirname(tiny_savedmodel))
    assert resolve_handle("model") == os.path.realpath(tiny_savedmodel)


def test_overrides_and_env_var(tiny_savedmodel, monkeypatch):
    assert resolve_handle("yamnet", {"yamnet": tiny_savedmodel}) == os.path.realpath(
        tiny_savedmodel)
    # A name may alias another name; the argument beats the environment, which beats defaults.
    monkeypatch.setenv(hub_handles.ENV_HANDLES, json.dumps(
        {"trill": tiny_savedmodel, "speech_encoder": "trill"}))
    assert resolve_handle("speech_encoder") == os.path.realpath(tiny_savedmodel)
    assert resolve_handle("speech_encoder", {"speech_encoder": "yamnet"}) == (
        DEFAULT_HANDLES["yamnet"])
    assert hub_handles.registered_handles()["trill"] == tiny_savedmodel


def test_bad_env_var_and_cycles_fail_clearly(monkeypatch):
    monkeypatch.setenv(hub_handles.ENV_HANDLES, "{not json")
    with pytest.raises(ValueError, match="MER_HUB_HANDLES"):
        resolve_handle("yamnet")
    monkeypatch.setenv(hub_handles.ENV_HANDLES, json.dumps(["yamnet"]))
    with pytest.raises(ValueError, match="JSON object"):
        resolve_handle("yamnet")
    monkeypatch.delenv(hub_handles.ENV_HANDLES)
    with pytest.raises(ValueError, match="cycle"):
        resolve_handle("a", {"a": "b", "b": "a"})


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_handle(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="no saved_model.pb"):
        resolve_handle(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="'yamnet'.*MER_HUB_HANDLES"):
        resolve_handle("yamnet", {"yamnet": str(tmp_path / "offline-copy")})


def test_minilm_cache_location_follows_env(tmp_path):
    assert hub_handles.minilm_cache_dir(64) == tmp_path / "cache" / "minilm-l6-v2-seq64"


def test_load_keras_layer_frozen_and_trainable(tiny_savedmodel):
    x = np.array([[1.0, 0.0, 1.0]], np.float32)
    frozen = load_keras_layer(tiny_savedmodel)
    np.testing.assert_allclose(frozen(x).numpy(), [[7.0, 9.0]])
    assert not frozen.trainable_weights and len(frozen.non_trainable_weights) == 1

    layer = load_keras_layer("tiny", trainable=True, overrides={"tiny": tiny_savedmodel})
    assert len(layer.trainable_weights) == 1
    keras = tf.keras
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile("sgd", "mse")
    before = layer.trainable_weights[0].numpy().copy()
    model.fit(x, np.ones((1, 1), np.float32), epochs=1, verbose=0)
    assert not np.allclose(layer.trainable_weights[0].numpy(), before)
