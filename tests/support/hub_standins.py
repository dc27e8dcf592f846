"""Tiny SavedModels with the call interfaces of the TF Hub models the model zoo uses.

TF Hub is unreachable where this project is developed and tested, yet the models built on
BERT, Electra, YAMNet and TRILL must still be shown to build, train, export and serve. These
stand-ins have the *interfaces* of the real models (inputs, outputs, dtypes, ranks, the
Reusable-SavedModel attributes ``hub.KerasLayer`` reads), computed by a few small random layers,
so every code path that touches a hub layer runs unchanged: point the handle names at them with
``hub_handles`` overrides (``TrainConfig.hub_handles`` or ``$MER_HUB_HANDLES``). Their outputs
mean nothing; never train a real model on them.

Interfaces reproduced (see ``docs/models.md``):

* BERT / Electra **preprocess** (``bert_en_uncased_preprocess/3``): ``__call__`` strings of any
  shape -> ``input_word_ids``, ``input_mask``, ``input_type_ids`` int32 ``[B, seq_length]``;
  also ``tokenize`` and ``bert_pack_inputs`` (in-graph ``tensorflow_text.BertTokenizer``).
* BERT / Electra **encoder** (``bert_en_uncased_L-12_H-768_A-12/4``, ``electra_small/2``):
  ``__call__(inputs, training)`` on that dict -> ``pooled_output`` [B, H], ``sequence_output``
  [B, L, H], ``default``, ``encoder_outputs`` (one [B, L, H] per layer).
* **all-mpnet-base-v2** (``mpnet``): the project's own converter (``minilm_convert``, MPNet
  architecture) over random weights of a tiny configuration, the same interface as the BERT
  encoder; it pairs with the BERT preprocess stand-in.
* **YAMNet** (``yamnet/1``): ``__call__`` a 1-D float32 16 kHz waveform [N] ->
  ``(scores [T, 521], embeddings [T, 1024], log_mel_spectrogram [F, 64])``; T patches of
  0.96 s every 0.48 s after YAMNet's padding (6 for 3 s), F frames of 10 ms.
* **TRILL** (``nonsemantic-speech-benchmark/trill/3``): ``__call__(samples, sample_rate)``,
  samples float32 [B, N] (or [N]) -> ``{"embedding": [B, T, 512]}`` (or [T, 512]).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import math  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.core.contract import SAMPLE_RATE  # noqa: E402

# YAMNet framing (models/research/audioset/yamnet/params.py).
YAMNET_PATCH_HOP = 7680  # 0.48 s
YAMNET_MIN_SAMPLES = 15600  # 0.96 s patch + 25 ms STFT window - 10 ms hop
YAMNET_CLASSES = 521
YAMNET_EMBEDDING = 1024
TRILL_EMBEDDING = 512
TRILL_WINDOW = 15360  # 0.96 s
TRILL_HOP = 4000  # 0.25 s (stand-in only: the real frame rate is a detail of TRILL's graph)

# Enough WordPiece vocabulary for test sentences; anything else becomes [UNK].
DEFAULT_VOCAB = (
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "i", "am", "you", "we", "it", "is", "so", "very", "not", "the", "a", "and", "today",
    "happy", "sad", "angry", "neutral", "calm", "fear", "joy", "glad", "great", "love", "hate",
    "cry", "mad", "furious", "lonely", "feel", "this", "that", "what", "why", "no", "yes",
    ".", ",", "!", "?", "'", "##s", "##ly", "##ed", "##ing",
)


def yamnet_num_patches(num_samples: int) -> int:
    """How many embeddings YAMNet returns for ``num_samples`` at 16 kHz (6 for 3 s)."""
    extra = max(0, num_samples - YAMNET_MIN_SAMPLES)
    return 1 + math.ceil(extra / YAMNET_PATCH_HOP)


def trill_num_frames(num_samples: int) -> int:
    """How many embeddings the TRILL stand-in returns for ``num_samples``."""
    return 1 + max(0, num_samples - TRILL_WINDOW) // TRILL_HOP


def _weight(rng: np.random.Generator, shape: tuple[int, ...], name: str) -> tf.Variable:
    scale = 1.0 / math.sqrt(shape[0])
    return tf.Variable(rng.normal(0.0, scale, shape).astype(np.float32), name=name)


def _reusable_root(module: tf.Module, call, trainable: bool = True) -> tf.train.Checkpoint:
    """The Reusable SavedModel object: ``__call__`` plus the attributes hub.KerasLayer reads."""
    root = tf.train.Checkpoint()
    root.module = module
    root.__call__ = call
    root.variables = list(module.variables)
    root.trainable_variables = list(module.trainable_variables) if trainable else []
    root.regularization_losses = []
    return root


# ------------------------------------------------------------------------------------------------
# BERT / Electra
# ------------------------------------------------------------------------------------------------


def save_bert_preprocess_standin(path: str, seq_length: int = 128,
                                 vocab: tuple[str, ...] = DEFAULT_VOCAB) -> str:
    """``bert_en_uncased_preprocess``-like SavedModel (strings -> BERT inputs) at ``path``."""
    from components.trainer.models.minilm_convert import save_bert_preprocessor

    path = str(path)
    os.makedirs(path, exist_ok=True)
    vocab_path = os.path.join(path, "vocab_source.txt")
    Path(vocab_path).write_text("\n".join(vocab) + "\n", "utf-8")
    save_bert_preprocessor(vocab_path, seq_length, path)
    return path


class _Encoder(tf.Module):
    """Embeddings + one masked tanh layer + tanh pooler on [CLS]: shapes of BERT, no meaning."""

    def __init__(self, vocab_size: int, hidden_size: int, max_length: int, seed: int):
        super().__init__(name="standin_encoder")
        rng = np.random.default_rng(seed)
        h = hidden_size
        self.word = _weight(rng, (vocab_size + 1, h), "word_embeddings")  # +1: OOV bucket
        self.position = _weight(rng, (max_length, h), "position_embeddings")
        self.type = _weight(rng, (2, h), "type_embeddings")
        self.kernel = _weight(rng, (h, h), "layer_0/kernel")
        self.bias = tf.Variable(tf.zeros([h]), name="layer_0/bias")
        self.pooler = _weight(rng, (h, h), "pooler/kernel")

    def forward(self, inputs: dict, training: bool) -> dict:
        ids, mask, types = (inputs[k] for k in ("input_word_ids", "input_mask", "input_type_ids"))
        length = tf.shape(ids)[1]
        x = (tf.gather(self.word, ids) + tf.gather(self.type, types)
             + self.position[tf.newaxis, :length])
        if training:
            x = tf.nn.dropout(x, rate=0.1)
        seq = tf.tanh(tf.einsum("blh,hk->blk", x, self.kernel) + self.bias)
        seq *= tf.cast(mask, tf.float32)[..., tf.newaxis]
        pooled = tf.tanh(tf.matmul(seq[:, 0], self.pooler))
        return {"pooled_output": pooled, "default": pooled, "sequence_output": seq,
                "encoder_outputs": [seq]}


def save_bert_encoder_standin(path: str, hidden_size: int = 16, max_length: int = 512,
                              vocab_size: int = len(DEFAULT_VOCAB), seed: int = 0) -> str:
    """BERT-encoder-like Reusable SavedModel (TF Hub BERT input/output dicts) at ``path``.

    ``__call__`` is traced with ``training`` False and True, as TF Hub's encoders are, so
    ``hub.KerasLayer(trainable=True)`` fine-tunes it and dropout follows the Keras phase.
    """
    encoder = _Encoder(vocab_size, hidden_size, max_length, seed)
    spec = {k: tf.TensorSpec([None, None], tf.int32, name=k)
            for k in ("input_word_ids", "input_mask", "input_type_ids")}

    @tf.function
    def call(inputs, training=False):
        return encoder.forward(inputs, training=training)

    for training in (False, True):
        call.get_concrete_function(spec, training=training)
    tf.saved_model.save(_reusable_root(encoder, call), str(path))
    return str(path)


# ------------------------------------------------------------------------------------------------
# Speech: YAMNet, TRILL
# ------------------------------------------------------------------------------------------------


def _band_energies(frames: tf.Tensor, bands: int = 64) -> tf.Tensor:
    """[..., L] frames -> [..., bands] log mean energy of ``bands`` equal chunks: a toy log-mel."""
    length = frames.shape[-1] // bands * bands
    chunks = tf.reshape(frames[..., :length],
                        tf.concat([tf.shape(frames)[:-1], [bands, length // bands]], 0))
    return tf.math.log(tf.reduce_mean(tf.square(chunks), axis=-1) + 1e-6)


class _YAMNet(tf.Module):
    def __init__(self, seed: int):
        super().__init__(name="standin_yamnet")
        rng = np.random.default_rng(seed)
        self.embed = _weight(rng, (64, YAMNET_EMBEDDING), "embedding/kernel")
        self.classify = _weight(rng, (64, YAMNET_CLASSES), "logits/kernel")

    def forward(self, waveform: tf.Tensor):
        n = tf.shape(waveform)[0]
        # YAMNet pads to at least one patch, then to a whole number of hops.
        padded_len = YAMNET_MIN_SAMPLES + YAMNET_PATCH_HOP * tf.cast(tf.math.ceil(
            tf.maximum(0, n - YAMNET_MIN_SAMPLES) / YAMNET_PATCH_HOP), tf.int32)
        wave = tf.pad(waveform, [[0, padded_len - n]])
        log_mel = _band_energies(tf.signal.frame(wave, 384, 160))  # [F, 64], 10 ms hop
        patches = _band_energies(tf.signal.frame(wave, YAMNET_MIN_SAMPLES, YAMNET_PATCH_HOP))
        embeddings = tf.nn.relu(tf.matmul(patches, self.embed))  # [T, 1024]
        scores = tf.sigmoid(tf.matmul(patches, self.classify))  # [T, 521]
        return scores, embeddings, log_mel


def save_yamnet_standin(path: str, seed: int = 1) -> str:
    """YAMNet-like SavedModel: 1-D float32 waveform -> (scores, embeddings, log-mel)."""
    model = _YAMNet(seed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="waveform")])
    def call(waveform):
        return model.forward(waveform)

    tf.saved_model.save(_reusable_root(model, call), str(path))
    return str(path)


class _TRILL(tf.Module):
    def __init__(self, seed: int):
        super().__init__(name="standin_trill")
        rng = np.random.default_rng(seed)
        self.kernel = _weight(rng, (64, TRILL_EMBEDDING), "embedding/kernel")

    def forward(self, samples: tf.Tensor, sample_rate: tf.Tensor) -> dict:
        tf.debugging.assert_equal(tf.cast(sample_rate, tf.int32), SAMPLE_RATE,
                                  message="TRILL expects 16 kHz audio")
        samples = tf.cast(samples, tf.float32)
        n = tf.shape(samples)[-1]
        # Pad up to one window so short clips still give one frame.
        pad = tf.maximum(0, TRILL_WINDOW - n)
        paddings = tf.concat([tf.zeros([tf.rank(samples) - 1, 2], tf.int32), [[0, pad]]], 0)
        frames = tf.signal.frame(tf.pad(samples, paddings), TRILL_WINDOW, TRILL_HOP)
        return {"embedding": tf.tanh(tf.einsum("...tb,be->...te", _band_energies(frames),
                                               self.kernel))}


def save_trill_standin(path: str, seed: int = 2) -> str:
    """TRILL-v3-like SavedModel: ``(samples, sample_rate)`` -> ``{"embedding": [B, T, 512]}``."""
    model = _TRILL(seed)

    @tf.function
    def call(samples, sample_rate):
        return model.forward(samples, sample_rate)

    rate = tf.TensorSpec([], tf.int32, name="sample_rate")
    for shape in ([None, None], [None]):
        call.get_concrete_function(tf.TensorSpec(shape, tf.float32, name="samples"), rate)
    tf.saved_model.save(_reusable_root(model, call), str(path))
    return str(path)


# ------------------------------------------------------------------------------------------------
# All of them, as hub handle overrides
# ------------------------------------------------------------------------------------------------


def tiny_mpnet_config(vocab_size: int = len(DEFAULT_VOCAB) + 1, hidden_size: int = 16,
                      num_layers: int = 2, max_positions: int = 130):
    """A small MPNet architecture (4 heads, 32 relative buckets) for stand-ins and tests."""
    from components.trainer.models.minilm_weights import EncoderConfig

    return EncoderConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_layers=num_layers,
                         num_heads=4, intermediate_size=2 * hidden_size,
                         max_positions=max_positions, type_vocab_size=0, layer_norm_eps=1e-5,
                         arch="mpnet", relative_attention_buckets=32, pad_token_id=1)


def random_checkpoint(cfg, seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights of every tensor ``cfg`` needs, named and shaped as the PyTorch checkpoint."""
    from components.trainer.models.minilm_weights import expected_shapes

    rng = np.random.default_rng(seed)
    return {name: (np.ones(shape, np.float32) + 0.1 * rng.standard_normal(shape)
                   if name.endswith("LayerNorm.weight")
                   else 0.2 * rng.standard_normal(shape)).astype(np.float32)
            for name, shape in expected_shapes(cfg).items()}


def save_mpnet_encoder_standin(path: str, hidden_size: int = 16, seed: int = 5) -> str:
    """A tiny MPNet converted by the real converter (random weights) at ``path``."""
    from components.trainer.models.minilm_convert import _save_encoder

    cfg = tiny_mpnet_config(hidden_size=hidden_size)
    _save_encoder(random_checkpoint(cfg, seed), str(path), cfg)
    return str(path)


def build_standins(root: str, *, seq_length: int = 128, bert_hidden: int = 16,
                   electra_hidden: int = 16) -> dict[str, str]:
    """Saves every stand-in under ``root``; returns ``hub_handles`` overrides name -> path.

    ``minilm`` is not included: it converts offline from its pip package, so it is real.
    Hidden sizes are parameters so a benchmark can build heads of the real width (BERT-Base
    768, Electra-Small 256) while the tests keep them tiny.
    """
    root_path = Path(root)
    pre = save_bert_preprocess_standin(str(root_path / "bert_preprocess"), seq_length)
    return {
        "bert_en_uncased_preprocess": pre,
        "electra_small_preprocess": pre,  # same uncased vocabulary, as on TF Hub
        "bert_en_uncased_L-12_H-768_A-12": save_bert_encoder_standin(
            str(root_path / "bert_encoder"), hidden_size=bert_hidden, seed=3),
        "electra_small": save_bert_encoder_standin(
            str(root_path / "electra_small"), hidden_size=electra_hidden, seed=4),
        "mpnet_preprocess": pre,
        "mpnet": save_mpnet_encoder_standin(str(root_path / "mpnet"), hidden_size=bert_hidden),
        "yamnet": save_yamnet_standin(str(root_path / "yamnet")),
        "trill": save_trill_standin(str(root_path / "trill")),
    }
