"""`train.fine_tune_layers`: only the encoder's top blocks learn, the rest stay pretrained, and
the model still exports and serves the same outputs."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest
import tensorflow as tf

from components.core.config import TrainConfig
from components.trainer.models import hub_handles
from tests.support.hub_standins import save_mpnet_encoder_standin

keras = tf.keras


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory) -> str:
    return save_mpnet_encoder_standin(str(tmp_path_factory.mktemp("mpnet") / "encoder"))


def _model(path: str, top_blocks: int) -> keras.Model:
    ids = keras.Input([None], dtype=tf.int32, name="ids")
    encoder = hub_handles.load_keras_layer(path, trainable=True, fine_tune_layers=top_blocks)
    out = encoder({"input_word_ids": ids, "input_mask": tf.ones_like(ids),
                   "input_type_ids": tf.zeros_like(ids)})["pooled_output"]
    return keras.Model(ids, keras.layers.Dense(3, name="head")(out))


def _values(model: keras.Model) -> dict[str, np.ndarray]:
    return {w.name: w.numpy().copy() for w in model.weights}


def test_top_block_learns_and_lower_blocks_and_embeddings_stay(encoder_path):
    model = _model(encoder_path, top_blocks=1)
    trainable = {w.name for w in model.trainable_weights}
    # After the blocks: the head, and the pooler (which TF Hub's BERT pools with).
    after_blocks = ("head", "pooler_transform")
    assert trainable and all("layer_1/" in n or n.startswith(after_blocks) for n in trainable)
    assert any("layer_0/" in w.name for w in model.non_trainable_weights)
    assert any("word_embeddings" in w.name for w in model.non_trainable_weights)

    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.random.default_rng(0).integers(4, 20, size=(8, 6)).astype(np.int32)
    before = _values(model)
    model.fit(ids, np.arange(8) % 3, epochs=2, verbose=0)
    after = _values(model)
    changed = {n for n in before if not np.array_equal(before[n], after[n])}
    # Every trainable weight the output depends on moved, and nothing else (this encoder's
    # pooled_output is a masked mean: its pooler gets no gradient).
    assert changed == {n for n in trainable if not n.startswith("pooler_transform")}


def test_all_blocks_matches_full_fine_tuning_but_embeddings(encoder_path):
    full = {w.name for w in _model(encoder_path, top_blocks=0).trainable_weights}
    both = {w.name for w in _model(encoder_path, top_blocks=2).trainable_weights}
    assert both == {n for n in full if "embedding" not in n}


def test_partly_trainable_model_exports_and_serves_the_same(encoder_path, tmp_path):
    model = _model(encoder_path, top_blocks=1)
    ids = np.random.default_rng(1).integers(4, 20, size=(3, 5)).astype(np.int32)
    model.save(str(tmp_path / "export"), save_format="tf")
    served = tf.saved_model.load(str(tmp_path / "export"))
    np.testing.assert_allclose(served(tf.constant(ids), training=False).numpy(),
                               model(ids, training=False).numpy(), atol=1e-5)


def test_more_blocks_than_the_encoder_has_fails_naming_the_setting(encoder_path):
    with pytest.raises(ValueError, match=r"fine_tune_layers=3: .* has 2 transformer blocks"):
        hub_handles.load_keras_layer(encoder_path, trainable=True, fine_tune_layers=3)


def test_negative_setting_is_refused_in_the_config():
    with pytest.raises(ValueError, match="train.fine_tune_layers must be >= 0"):
        TrainConfig(fine_tune_layers=-1)
