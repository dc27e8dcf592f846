"""Audio features computed inside the TensorFlow graph, numerically matching librosa 0.11.

Why in the graph: these functions run inside the tf.Transform ``preprocessing_fn`` and are
therefore baked into the transform graph that is attached to every exported SavedModel. Training
data and serving requests go through the *same* ops with the *same* constants, so there is no
training/serving skew from a second (numpy/librosa) implementation drifting away.

Rules this module follows so it stays exportable:

* Only TF ops on tensors. numpy/librosa are used exclusively at trace time to build constant
  matrices (mel filterbank, chroma filterbank, DCT-II matrix); they never see tensor values.
* Everything is batched: inputs are ``[batch, samples]`` with a static or dynamic batch size
  (and a static or dynamic number of samples), so the functions work inside ``tf.function``.
* All-zero waveforms (silence, missing audio) produce finite values: power is clamped at
  ``amin`` before the log and chroma normalisation never divides by ~0.

Parity with librosa (``center=True``, ``pad_mode="constant"``, periodic Hann window, power 2,
slaney mel filters, ``power_to_db(ref=1.0, amin=1e-10, top_db=80)``, ortho DCT-II, inf-norm
chroma) is tested in ``tests/transform/test_audio_features.py``; measured errors are listed in
``docs/features.md``. Everything is computed in the waveforms' dtype: float32 (what
``wav_decode.decode_wav`` returns) meets the budgets the models need (utterance vectors within
1e-5 of their maximum, log-mel frames within 1e-4) at a fraction of float64's cost; float64
input gives float64 features.

One deliberate deviation, chroma's fixed ``tuning=0.0``, is explained in :func:`chroma_stft`.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Sequence

import numpy as np
import tensorflow as tf

from components.core.contract import SAMPLE_RATE
from components.transform import filterbanks, frame_stats
from components.transform import prosody as prosody_stats

#: Utterance-level feature kinds, in the fixed order they are concatenated.
FEATURE_KINDS: tuple[str, ...] = ("mfcc", "mel", "chroma")


_SUPPORTED_DTYPES = (tf.float32, tf.float64)
# Large batches are computed a few clips at a time, two chunks in flight (one per core): the
# frames and spectra of 4 clips (~3 MB for 3 s) stay in a core's L2 cache between the framing,
# FFT, power and filterbank ops, instead of ~50 MB of frames streaming through memory per op
# for 64 clips at once (docs/features.md, "Precision and speed").
_CHUNK_CLIPS = 4
_PARALLEL_CHUNKS = 2


@dataclasses.dataclass(frozen=True)
class AudioFeatureParams:
    """Every number that defines the audio features, in one immutable place.

    Frozen so one instance can be shared between the transform, tests and docs without anyone
    mutating it mid-pipeline; a change of any field changes the features, so it must be a new,
    explicit object.

    The first block matches the classic librosa utterance features (MFCC, mel, chroma averaged
    over time). The ``logmel_*`` block defines frame-level log-mel images for 2D CNNs with the
    usual speech framing: 32 ms windows (512 samples) every 10 ms (160 samples) at 16 kHz.
    """

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 40
    n_chroma: int = 12
    fmin: float = 0.0
    fmax: Optional[float] = None  # None: sample_rate / 2, as in librosa
    top_db: Optional[float] = 80.0
    logmel_n_fft: int = 512
    logmel_hop: int = 160
    logmel_n_mels: int = 64

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels", "n_mfcc", "n_chroma",
                     "logmel_n_fft", "logmel_hop", "logmel_n_mels"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"AudioFeatureParams.{name} must be a positive int, got {value!r}")
        # Even FFT sizes keep librosa's centred framing at exactly 1 + n // hop frames
        # (see num_frames), which the exported feature shapes rely on.
        for name in ("n_fft", "logmel_n_fft"):
            value = getattr(self, name)
            if value % 2:
                raise ValueError(f"AudioFeatureParams.{name} must be even, got {value}")
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        if self.fmin < 0:
            raise ValueError(f"fmin must be >= 0, got {self.fmin}")
        if self.fmax is not None and self.fmax <= self.fmin:
            raise ValueError(f"fmax ({self.fmax}) must be > fmin ({self.fmin})")
        if self.top_db is not None and self.top_db < 0:
            raise ValueError(f"top_db must be non-negative or None, got {self.top_db}")


# Helpers ----------------------------------------------------------------------------------------


def num_frames(num_samples: int, hop: int) -> int:
    """Frames librosa produces with ``center=True`` for an even ``n_fft``: ``1 + n // hop``.

    Padding ``n_fft // 2`` on both sides gives ``(n + n_fft - n_fft) // hop + 1`` frames, so the
    count depends only on the hop; shapes of exported features can be derived without n_fft.
    """
    if num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    if hop <= 0:
        raise ValueError(f"hop must be > 0, got {hop}")
    return 1 + int(num_samples) // int(hop)


def _validate_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """Return ``kinds`` as a tuple in canonical order, or raise a ValueError saying why not."""
    if isinstance(kinds, (str, bytes)):
        raise ValueError(
            f"kinds must be a sequence of feature names such as ('mfcc',), not the string "
            f"{kinds!r}; valid names: {FEATURE_KINDS}")
    try:
        requested = list(kinds)
    except TypeError as err:
        raise ValueError(f"kinds must be a sequence of names from {FEATURE_KINDS}") from err
    if not requested:
        raise ValueError(f"kinds must be a non-empty subset of {FEATURE_KINDS}")
    unknown = [k for k in requested if k not in FEATURE_KINDS]
    if unknown:
        raise ValueError(f"unknown feature kind(s) {unknown}; valid names: {FEATURE_KINDS}")
    if len(set(requested)) != len(requested):
        raise ValueError(f"duplicate feature kinds in {tuple(requested)}")
    return tuple(k for k in FEATURE_KINDS if k in requested)


def feature_dim(kinds: Iterable[str] = FEATURE_KINDS,
                params: AudioFeatureParams = AudioFeatureParams(),
                stats: Sequence[str] = ("mean",), deltas: bool = False,
                segments: int = 0, prosody: bool = False) -> int:
    """Width of ``utterance_features`` with these arguments, without tracing."""
    sizes = {"mfcc": params.n_mfcc, "mel": params.n_mels, "chroma": params.n_chroma}
    width = sum(sizes[k] for k in _validate_kinds(kinds))
    return ((width + (params.n_mfcc if deltas else 0)) * len(frame_stats.validate_stats(stats))
            + params.n_mfcc * segments + (prosody_stats.WIDTH if prosody else 0))


def _as_waveforms(waveforms: tf.Tensor) -> tf.Tensor:
    """Check dtype/rank early, so misuse fails at trace time with a readable message."""
    x = tf.convert_to_tensor(waveforms)
    if x.dtype not in _SUPPORTED_DTYPES:
        # Integer PCM would be silently 32768x too loud; make the caller scale it explicitly.
        raise TypeError(f"waveforms must be float32 or float64 in [-1, 1], got {x.dtype.name}")
    if x.shape.rank is not None and x.shape.rank != 2:
        raise ValueError(f"waveforms must have shape [batch, samples], got {x.shape}")
    return x


# Spectral building blocks (all in the dtype of their input) -------------------------------------


def _power(x: tf.Tensor, n_fft: int, hop_length: int, pad_mode: str = "CONSTANT") -> tf.Tensor:
    """Power spectrogram [batch, frames, bins] of validated waveforms, in their dtype."""
    pad = n_fft // 2
    frames = tf.signal.frame(tf.pad(x, [[0, 0], [pad, pad]], mode=pad_mode), n_fft, hop_length)
    spec = tf.signal.rfft(frames * tf.signal.hann_window(n_fft, periodic=True, dtype=x.dtype))
    return tf.math.square(tf.math.real(spec)) + tf.math.square(tf.math.imag(spec))


def stft_power(waveforms: tf.Tensor, n_fft: int, hop_length: int,
               pad_mode: str = "CONSTANT") -> tf.Tensor:
    """Power spectrogram ``|STFT|**2`` as librosa computes it, layout ``[batch, frames, bins]``.

    librosa 0.11 centres frames by zero-padding ``n_fft // 2`` samples on both sides
    (``pad_mode="constant"``) and uses a periodic ("fftbins") Hann window; tf.signal.stft does
    neither by default, so we pad explicitly and pass the periodic window. Frame count is
    ``num_frames(samples, hop_length)``; bins are ``1 + n_fft // 2``. ``pad_mode="REFLECT"``
    centres as torch.stft does (Whisper's front end).
    """
    return _power(_as_waveforms(waveforms), n_fft, hop_length, pad_mode)


def _const(array: np.ndarray, dtype: tf.DType) -> tf.Tensor:
    return tf.constant(array, dtype=dtype)


def power_to_db(S: tf.Tensor, top_db: Optional[float] = 80.0) -> tf.Tensor:
    """``librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=top_db)`` for each batch element.

    librosa clips at ``max - top_db`` over the whole array it is given, i.e. per clip when
    called per clip. Here the first axis is the batch, so the maximum is taken over all other
    axes separately for each element: a loud clip in the same batch must not change the floor
    of a quiet one (that would make features depend on batch composition). The ``amin`` clamp
    also keeps silence finite (-100 dB) instead of -inf.
    """
    S = tf.convert_to_tensor(S)
    if S.dtype not in _SUPPORTED_DTYPES:
        raise TypeError(f"S must be float32 or float64, got {S.dtype.name}")
    return _power_to_db(S, top_db)


def _power_to_db(S: tf.Tensor, top_db: Optional[float]) -> tf.Tensor:
    log_spec = frame_stats.power_db(S)
    if top_db is None:
        return log_spec
    if top_db < 0:
        raise ValueError(f"top_db must be non-negative or None, got {top_db}")
    rank = log_spec.shape.rank
    # Static axes when the rank is known keep static output shapes for downstream layers.
    axes = list(range(1, rank)) if rank is not None else tf.range(1, tf.rank(log_spec))
    peak = tf.reduce_max(log_spec, axis=axes, keepdims=True)
    return tf.maximum(log_spec, peak - tf.constant(top_db, log_spec.dtype))


def _mel_basis(params: AudioFeatureParams) -> np.ndarray:
    return filterbanks.mel_basis(params.sample_rate, params.n_fft, params.n_mels, params.fmin,
                                 params.fmax)


def _chroma_basis(params: AudioFeatureParams) -> np.ndarray:
    return filterbanks.chroma_basis(params.sample_rate, params.n_fft, params.n_chroma)


def _project(power: tf.Tensor, basis: np.ndarray) -> tf.Tensor:
    """[batch, frames, bins] x basis [n, bins] -> [batch, frames, n] as one 2-D matmul."""
    shape = tf.shape(power)
    flat = tf.matmul(tf.reshape(power, [-1, basis.shape[1]]), _const(basis.T, power.dtype))
    out = tf.reshape(flat, tf.concat([shape[:2], [basis.shape[0]]], axis=0))
    return tf.ensure_shape(out, power.shape[:2].concatenate([basis.shape[0]]))


def _normalize_chroma(raw: tf.Tensor, axis: int) -> tf.Tensor:
    # librosa.util.normalize(norm=inf, threshold=tiny(raw), fill=None): frames whose max is
    # below the smallest normal number are left un-normalised (divided by 1), so silent frames
    # stay 0 instead of becoming 0/0 = NaN. The float32 threshold is librosa's for float32
    # audio (what librosa.load returns); frames between it and float64's tiny cannot occur for
    # 16-bit PCM input, whose smallest non-zero power is ~1e-9.
    tiny = np.finfo(np.float32).tiny
    length = tf.reduce_max(tf.abs(raw), axis=axis, keepdims=True)
    return raw / tf.where(length < tiny, tf.ones_like(length), length)


def in_chunks(fn, x: tf.Tensor, out_shape: tf.TensorShape) -> tf.Tensor:
    """``fn`` applied to ``x`` a few clips at a time (see ``_CHUNK_CLIPS``), results concatenated.

    ``fn`` must treat clips independently (every feature here does, top_db included), so the
    result equals ``fn(x)``; ``out_shape`` is the shape of one clip's result. A batch of at most
    one chunk is computed directly (decided at run time when the batch size is dynamic). Public
    so benchmarks can time parts of the features the way the features themselves run.
    """
    static = x.shape[0]
    if static is not None and static <= _CHUNK_CLIPS:
        return fn(x)
    n = tf.shape(x)[0]
    chunks = (n + _CHUNK_CLIPS - 1) // _CHUNK_CLIPS
    shape = [static] + out_shape.as_list()

    def loop() -> tf.Tensor:
        parts = tf.TensorArray(x.dtype, size=chunks, infer_shape=False,
                               element_shape=tf.TensorShape([None]).concatenate(out_shape))

        def body(i, parts):
            return i + 1, parts.write(i, fn(x[i * _CHUNK_CLIPS:(i + 1) * _CHUNK_CLIPS]))

        _, parts = tf.while_loop(lambda i, _: i < chunks, body, (tf.constant(0), parts),
                                 parallel_iterations=_PARALLEL_CHUNKS)
        return tf.ensure_shape(parts.concat(), shape)

    # Small serving batches skip the loop's fixed cost.
    return tf.cond(n <= _CHUNK_CLIPS, lambda: tf.ensure_shape(fn(x), shape), loop)


# Public features --------------------------------------------------------------------------------


def melspectrogram(waveforms: tf.Tensor,
                   params: AudioFeatureParams = AudioFeatureParams()) -> tf.Tensor:
    """Mel power spectrogram ``[batch, n_mels, frames]`` == ``librosa.feature.melspectrogram``."""
    x = _as_waveforms(waveforms)
    mel = _project(_power(x, params.n_fft, params.hop_length), _mel_basis(params))
    return tf.transpose(mel, [0, 2, 1])


def mfcc(waveforms: tf.Tensor, params: AudioFeatureParams = AudioFeatureParams()) -> tf.Tensor:
    """MFCCs ``[batch, n_mfcc, frames]`` == ``librosa.feature.mfcc`` (DCT-II ortho, no lifter).

    Computed as librosa does: power_to_db (top_db per clip) of the slaney mel spectrogram, then
    an orthonormal DCT-II over the mel axis, keeping the first ``n_mfcc`` coefficients.
    """
    x = _as_waveforms(waveforms)
    mel = _project(_power(x, params.n_fft, params.hop_length), _mel_basis(params))
    coefficients = _project(_power_to_db(mel, params.top_db),
                            filterbanks.dct_matrix(params.n_mfcc, params.n_mels))
    return tf.transpose(coefficients, [0, 2, 1])


def chroma_stft(waveforms: tf.Tensor,
                params: AudioFeatureParams = AudioFeatureParams()) -> tf.Tensor:
    """Chromagram ``[batch, n_chroma, frames]`` == ``librosa.feature.chroma_stft(tuning=0.0)``.

    Deviation from librosa's default: tuning is fixed at 0.0 rather than estimated per clip with
    ``piptrack``. A per-clip estimate is data-dependent peak picking that would make the filter
    bank differ per example (and is costly in a graph); speech has no musical tuning to recover.
    Each frame is scaled so its largest chroma bin is 1 (norm=inf); silent frames stay 0.
    """
    x = _as_waveforms(waveforms)
    raw = _project(_power(x, params.n_fft, params.hop_length), _chroma_basis(params))
    return tf.transpose(_normalize_chroma(raw, axis=2), [0, 2, 1])


def utterance_features(waveforms: tf.Tensor,
                       params: AudioFeatureParams = AudioFeatureParams(),
                       kinds: Iterable[str] = FEATURE_KINDS,
                       stats: Sequence[str] = ("mean",), deltas: bool = False,
                       mel_db: bool = False, segments: int = 0,
                       active_db: Optional[float] = None, prosody: bool = False) -> tf.Tensor:
    """Utterance vectors ``[batch, feature_dim(...)]`` of the same arguments.

    Each selected feature (mfcc, mel, chroma) is summarised over its frames by each statistic
    (``mean``, ``std``) and the results are concatenated in the fixed order mfcc, mel, chroma,
    then the MFCC deltas (frame-to-frame differences) when ``deltas``, whatever order ``kinds``
    lists them in, so a feature column always means the same thing. ``mel_db`` summarises the
    mel spectrogram in dB (``power_to_db``) instead of power: the mean of power is dominated by
    the loudest frames. ``segments`` > 0 appends the MFCC means over that many equal parts of
    the (padded) clip, in time order: how the spectrum moves through the utterance, which
    whole-clip statistics cannot say. The defaults are the reference's 180 time-averaged
    values. One STFT and one filterbank matmul (mel and chroma side by side) serve all kinds;
    for time-means alone the DCT, being linear, is applied to the time-averaged log-mel
    (``mean(DCT(x)) == DCT(mean(x))``). Padded zeros at the end of a clip are frames too: they
    are summarised with the rest, identically at training and serving time, unless ``active_db``
    is set: then only frames within that many dB of the clip's loudest count (``frame_stats``).
    ``prosody`` appends pitch, voicing, loudness and timing statistics last (``prosody.NAMES``).
    """
    selected = _validate_kinds(kinds)
    stats = frame_stats.validate_stats(stats)
    x = _as_waveforms(waveforms)
    need_mfcc_frames = deltas or segments > 0 or (
        "mfcc" in selected and ("std" in stats or active_db is not None))
    need_mel = "mfcc" in selected or "mel" in selected or deltas or segments > 0
    bases = ([_mel_basis(params)] if need_mel else []) + (
        [_chroma_basis(params)] if "chroma" in selected else [])
    basis = np.concatenate(bases, axis=0)
    n_mels = params.n_mels if need_mel else 0

    def per_chunk(chunk: tf.Tensor) -> tf.Tensor:
        power = _power(chunk, params.n_fft, params.hop_length)
        projected = _project(power, basis)
        mel = projected[..., :n_mels]
        mask = None if active_db is None else frame_stats.active_frames(power, active_db)
        dct = _const(filterbanks.dct_matrix(params.n_mfcc, params.n_mels).T, chunk.dtype)
        parts, mfcc_frames = [], None
        if need_mfcc_frames:  # [batch, frames, n_mfcc]
            mfcc_frames = tf.tensordot(_power_to_db(mel, params.top_db), dct, axes=1)
        if "mfcc" in selected:
            if mfcc_frames is None:
                mean_db = tf.reduce_mean(_power_to_db(mel, params.top_db), axis=1)
                parts.append(tf.matmul(mean_db, dct))
            else:
                parts.append(frame_stats.pool(mfcc_frames, stats, mask))
        if "mel" in selected:
            mel_frames = _power_to_db(mel, params.top_db) if mel_db else mel
            parts.append(frame_stats.pool(mel_frames, stats, mask))
        if "chroma" in selected:
            chroma = _normalize_chroma(projected[..., n_mels:], axis=2)
            parts.append(frame_stats.pool(chroma, stats, mask))
        if deltas:
            delta_mask = None if mask is None else frame_stats.both_active(mask)
            parts.append(frame_stats.pool(mfcc_frames[:, 1:] - mfcc_frames[:, :-1], stats,
                                          delta_mask))
        if segments:
            parts.append(frame_stats.segment_means(mfcc_frames, segments, mask))
        if prosody:
            parts.append(prosody_stats.prosody_vector(power, params.sample_rate, params.n_fft,
                                                      mask))
        return tf.concat(parts, axis=1)

    width = feature_dim(selected, params, stats, deltas, segments, prosody)
    return in_chunks(per_chunk, x, tf.TensorShape([width]))


def log_mel_frames(waveforms: tf.Tensor,
                   params: AudioFeatureParams = AudioFeatureParams()) -> tf.Tensor:
    """Log-mel image ``[batch, frames, logmel_n_mels]`` (time-major) for 2D CNNs.

    ``power_to_db`` (per clip, ``params.top_db``) of a slaney mel spectrogram with speech
    framing (``logmel_n_fft`` window, ``logmel_hop`` hop): equals
    ``librosa.power_to_db(librosa.feature.melspectrogram(...)).T`` for each clip.
    """
    x = _as_waveforms(waveforms)
    basis = filterbanks.mel_basis(params.sample_rate, params.logmel_n_fft, params.logmel_n_mels,
                                  params.fmin, params.fmax)

    def per_chunk(chunk: tf.Tensor) -> tf.Tensor:
        mel = _project(_power(chunk, params.logmel_n_fft, params.logmel_hop), basis)
        return _power_to_db(mel, params.top_db)

    frames = None if x.shape[1] is None else num_frames(x.shape[1], params.logmel_hop)
    return in_chunks(per_chunk, x, tf.TensorShape([frames, params.logmel_n_mels]))
