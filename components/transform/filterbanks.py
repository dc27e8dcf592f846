"""Trace-time constants of the audio features: librosa's mel and chroma filterbanks, a DCT-II.

NumPy only, built once per parameter set (cached) when a graph is traced, never on tensor
values: the graph holds them as constant matrices, so serving needs no librosa.
"""

from __future__ import annotations

import functools
from typing import Optional

import numpy as np


@functools.cache
def mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: Optional[float]) -> np.ndarray:
    """Slaney mel filterbank [n_mels, 1 + n_fft // 2], exactly librosa's (built by librosa)."""
    import librosa  # trace time only; imported lazily so decode_wav works without librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                                htk=False, norm="slaney", dtype=np.float64)
    basis.setflags(write=False)
    return basis


@functools.cache
def chroma_basis(sr: int, n_fft: int, n_chroma: int) -> np.ndarray:
    """librosa chroma filterbank [n_chroma, 1 + n_fft // 2] with tuning fixed at 0.0."""
    import librosa

    basis = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=0.0,
                                   dtype=np.float64)
    basis.setflags(write=False)
    return basis


@functools.cache
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II matrix [n_out, n_in]: ``D @ x == scipy.fft.dct(x, 2, norm='ortho')``.

    A constant matmul instead of tf.signal.dct keeps the transform on the mel axis without
    transposes and lets us keep only the first ``n_out`` rows (librosa's ``[:n_mfcc]``).
    """
    k = np.arange(n_out, dtype=np.float64)[:, None]
    n = np.arange(n_in, dtype=np.float64)[None, :]
    mat = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * n_in))
    mat[0, :] /= np.sqrt(2.0)
    mat.setflags(write=False)
    return mat
