"""A NumPy reference of all-MiniLM-L6-v2: WordPiece tokenizer and forward pass, no TF.

Test support, not product code: the tests compare the converted SavedModels
(components/trainer/models/minilm_convert.py) with these embeddings, computed straight from the
safetensors weights. Slow but obviously correct.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Iterable, Mapping, Sequence

import numpy as np

from components.trainer.models.minilm_weights import (
    CONFIG,
    DEFAULT_SEQ_LENGTH,
    MiniLMConfig,
    attention_names,
    load_minilm_weights,
    load_vocab,
)

# --------------------------------------------------------------------------------------------
# NumPy reference: WordPiece tokenizer and forward pass, independent of the TF graphs
# --------------------------------------------------------------------------------------------


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # BERT treats every non-alphanumeric ASCII symbol as punctuation (e.g. "$", "^", "`").
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def _basic_tokenize(text: str) -> list[str]:
    """BERT's BasicTokenizer (uncased): clean, split CJK/whitespace/punctuation, strip accents."""
    chars = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_cjk(cp):
            chars.append(f" {ch} ")
        else:
            chars.append(" " if _is_whitespace(ch) else ch)
    words: list[str] = []
    for word in "".join(chars).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


def _wordpiece(word: str, vocab: Mapping[str, int], max_chars: int = 100) -> list[int]:
    """Greedy longest-match-first WordPiece; an unsplittable word is [UNK]."""
    if len(word) > max_chars:
        return [vocab["[UNK]"]]
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                break
            end -= 1
        else:
            return [vocab["[UNK]"]]
        start = end
    return ids


def numpy_tokenize(texts: Iterable[str], vocab: Mapping[str, int] | None = None,
                   max_length: int = DEFAULT_SEQ_LENGTH) -> list[list[int]]:
    """Pure-Python BERT uncased tokenization: ``[CLS] wordpieces [SEP]``, truncated, unpadded.

    Matches HF's BertTokenizer and (on ordinary text) tensorflow_text's BertTokenizer; exotic
    Unicode (e.g. case folding of "ß") may differ, which is why it is a test reference only.
    """
    vocab = vocab if vocab is not None else load_vocab()
    out = []
    for text in texts:
        ids = [i for word in _basic_tokenize(text) for i in _wordpiece(word, vocab)]
        out.append([vocab["[CLS]"], *ids[: max_length - 2], vocab["[SEP]"]])
    return out


def _np_layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _np_gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _np_relative_buckets(length: int, buckets: int, max_distance: int = 128) -> np.ndarray:
    """HF MPNetEncoder.relative_position_bucket, loop by loop: [L, L] bucket ids."""
    out = np.zeros((length, length), np.int64)
    half = buckets // 2
    exact = half // 2
    for i in range(length):  # query (context) position
        for j in range(length):  # key (memory) position
            n = i - j
            bucket = half if n < 0 else 0
            n = abs(n)
            if n < exact:
                bucket += n
            else:
                large = exact + int(math.log(n / exact) / math.log(max_distance / exact)
                                    * (half - exact))
                bucket += min(large, half - 1)
            out[i, j] = bucket
    return out


def numpy_encode(input_ids: Sequence[int], weights: Mapping[str, np.ndarray],
                 input_mask: Sequence[int] | None = None,
                 token_type_ids: Sequence[int] | None = None,
                 cfg: MiniLMConfig = CONFIG) -> np.ndarray:
    """BERT forward pass for one sequence in float64, straight from the PyTorch-layout weights.

    Returns the last layer's hidden states [L, hidden]. Written from the BERT paper / HF
    BertModel, sharing no code with the TF graph, so agreement checks the conversion.
    """
    ids = np.asarray(input_ids, dtype=np.int64)
    length = len(ids)
    mask = np.ones(length) if input_mask is None else np.asarray(input_mask, np.float64)
    types = np.zeros(length, np.int64) if token_type_ids is None else np.asarray(token_type_ids)

    def w(name: str) -> np.ndarray:
        return weights[name].astype(np.float64)

    def linear(x: np.ndarray, name: str) -> np.ndarray:  # PyTorch Linear: x @ W.T + b
        return x @ w(f"{name}.weight").T + w(f"{name}.bias")

    x = w("embeddings.word_embeddings.weight")[ids]
    if cfg.arch == "mpnet":  # HF create_position_ids_from_input_ids: padding_idx + 1 onwards
        x = x + w("embeddings.position_embeddings.weight")[
            (np.cumsum(mask) * mask).astype(np.int64) + cfg.pad_token_id]
    else:
        x = (x + w("embeddings.position_embeddings.weight")[:length]
             + w("embeddings.token_type_embeddings.weight")[types])
    x = _np_layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"),
                       cfg.layer_norm_eps)
    heads, size = cfg.num_heads, cfg.head_size
    names = attention_names(cfg)
    position_bias = 0.0
    if cfg.relative_attention_buckets:
        buckets = _np_relative_buckets(length, cfg.relative_attention_buckets)
        position_bias = w("encoder.relative_attention_bias.weight")[buckets].transpose(2, 0, 1)
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(x, f"{p}{names[n]}").reshape(length, heads, size)
                   .transpose(1, 0, 2) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size) + position_bias
        scores = np.where(mask[np.newaxis, np.newaxis, :] > 0, scores, -np.inf)
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(length, cfg.hidden_size)
        x = _np_layer_norm(x + linear(context, f"{p}{names['output']}"),
                           w(f"{p}{names['norm']}.weight"),
                           w(f"{p}{names['norm']}.bias"), cfg.layer_norm_eps)
        hidden = _np_gelu(linear(x, f"{p}intermediate.dense"))
        x = _np_layer_norm(x + linear(hidden, f"{p}output.dense"),
                           w(f"{p}output.LayerNorm.weight"), w(f"{p}output.LayerNorm.bias"),
                           cfg.layer_norm_eps)
    return x


def numpy_sentence_embeddings(texts: Sequence[str], *,
                              weights: Mapping[str, np.ndarray] | None = None,
                              vocab: Mapping[str, int] | None = None,
                              max_length: int = DEFAULT_SEQ_LENGTH,
                              normalize: bool = True) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings [N, 384] computed in NumPy (float64).

    Tokenize (pure Python), encode each sentence unpadded, mean-pool over its tokens and
    (by default) L2-normalise: sentence-transformers' Transformer -> Pooling(mean) ->
    Normalize pipeline. Slow but obviously correct; it is the reference for the SavedModel.
    """
    weights = weights if weights is not None else load_minilm_weights()
    out = []
    for ids in numpy_tokenize(texts, vocab, max_length):
        pooled = numpy_encode(ids, weights).mean(axis=0)
        out.append(pooled / max(np.linalg.norm(pooled), 1e-12) if normalize else pooled)
    return np.stack(out)
