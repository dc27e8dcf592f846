"""TF-IDF inside the transform graph: vocabulary from the data, fixed width, empty text."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.transform import text_features


def _analyze_and_transform(texts, tmp_path, **kwargs):
    import tensorflow_transform as tft  # noqa: F401
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    spec = {"text": tf.io.FixedLenFeature([], tf.string)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))

    def preprocessing_fn(inputs):
        return {"tfidf": text_features.tfidf(inputs["text"], **kwargs)}

    with tft_beam.Context(temp_dir=str(tmp_path), force_tf_compat_v1=False):
        data = [{"text": t} for t in texts]
        (out, _), _ = ((data, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False))
    return np.stack([row["tfidf"] for row in out])


def test_tfidf_fixed_width_and_vocabulary_from_data(tmp_path):
    texts = ["I am so happy today", "so happy, so glad!", "I am angry", "angry and sad", ""]
    x = _analyze_and_transform(texts, tmp_path, vocab_size=50, min_count=1)
    assert x.shape == (5, 51)
    assert np.all(np.isfinite(x))
    assert np.count_nonzero(x[4]) == 0, "empty text must give an all-zero row"
    # "so happy" and "happy" are shared by rows 0 and 1, so those rows overlap.
    assert float(x[0] @ x[1]) > 0
    assert float(x[1] @ x[2]) == 0


def test_min_count_sends_rare_ngrams_to_oov(tmp_path):
    texts = ["alpha beta", "alpha gamma", "alpha delta"]
    x = _analyze_and_transform(texts, tmp_path, vocab_size=10, min_count=2, ngram_range=(1, 1))
    # Only "alpha" reaches the count of 2; the rest goes to the out-of-vocabulary column.
    assert np.count_nonzero(x[:, :-1].sum(axis=0)) == 1
    assert np.all(x[:, -1] > 0)


@pytest.mark.parametrize("stop_words,expected", [(False, "the cat is here"), (True, "cat")])
def test_normalize(stop_words, expected):
    out = text_features.normalize(tf.constant(["The CAT, is here!"]), stop_words)
    assert out.numpy()[0].decode().split() == expected.split()
