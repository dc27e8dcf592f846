"""Fixture builders: tiny datasets in each dataset's real layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float = 0.5, sr: int = 16000, freq: float = 220.0, channels: int = 1):
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def write_wav(path: Path, seconds: float = 0.5, sr: int = 16000, channels: int = 1,
              subtype: str = "PCM_16", fmt: str = "WAV") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, sr, channels=channels), sr, format=fmt, subtype=subtype)
    return path


def truncate(path: Path, keep: int = 200) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return path
