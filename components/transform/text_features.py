"""Text features in the TF graph: normalisation, n-grams and TF-IDF.

The vocabulary and document frequencies come from tf.Transform analyzers
over the training split, so the exported model maps a raw string to the very
vector the model was trained on.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

_PUNCT = r"[^a-z0-9' ]+"


def english_stop_words() -> tuple[str, ...]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return tuple(sorted(ENGLISH_STOP_WORDS))


def normalize(text: tf.Tensor, stop_words: bool = False) -> tf.Tensor:
    """Lower-case, strip punctuation, optionally drop English stop words."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _PUNCT, " ")
    if stop_words:
        pattern = r"\b(" + "|".join(english_stop_words()) + r")\b"
        text = tf.strings.regex_replace(text, pattern, " ")
    return text


def ngrams(text: tf.Tensor, ngram_range: tuple[int, int] = (1, 2)) -> tf.RaggedTensor:
    tokens = tf.strings.split(text)
    widths = tuple(range(ngram_range[0], ngram_range[1] + 1))
    return tf.strings.ngrams(tokens, ngram_width=widths, separator=" ")


def tfidf(
    text: tf.Tensor,
    vocab_size: int,
    min_count: int = 2,
    ngram_range: tuple[int, int] = (1, 2),
    stop_words: bool = False,
    vocab_name: str = "text_ngrams",
) -> tf.Tensor:
    """Dense [batch, vocab_size + 1] TF-IDF (last column: out-of-vocabulary n-grams).

    A dense, fixed width keeps the model input static whatever the vocabulary
    turns out to be (it may hold fewer than vocab_size terms).
    """
    grams = ngrams(normalize(text, stop_words), ngram_range).to_sparse()
    ids = tft.compute_and_apply_vocabulary(
        grams, top_k=vocab_size, frequency_threshold=min_count, num_oov_buckets=1,
        vocab_filename=vocab_name,
    )
    width = vocab_size + 1
    # The OOV bucket sits right after the actual vocabulary, which may be
    # shorter than vocab_size: move it to the fixed last column.
    oov = tft.get_num_buckets_for_transformed_feature(ids) - 1
    ids = tf.SparseTensor(
        ids.indices,
        tf.where(ids.values >= tf.cast(oov, ids.values.dtype),
                 tf.constant(width - 1, ids.values.dtype), ids.values),
        ids.dense_shape,
    )
    term_ids, weights = tft.tfidf(ids, width)
    batch = tf.shape(text, out_type=tf.int64)[0]
    indices = tf.stack([term_ids.indices[:, 0], term_ids.values], axis=1)
    dense = tf.scatter_nd(indices, weights.values, tf.stack([batch, width]))
    return tf.reshape(dense, [-1, width])
