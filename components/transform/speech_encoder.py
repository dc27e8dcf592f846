"""A pretrained speech encoder (Whisper's) inside the Transform graph: pooled hidden states.

Why in the Transform, frozen: the states are computed once per clip (the Transform's output is
cached and reused by every fit), and the exported transform graph carries the encoder, so
serving still takes WAV bytes alone and computes exactly what training read. Fine-tuning it
would need the clip-by-clip forward pass in every training epoch, a GPU job.

Why a middle layer: the last blocks specialise in what the decoder needs (the words); the
middle ones keep more of how they were said. On RAVDESS's unseen actors a linear probe on the
mean and standard deviation of Whisper-base's states scored 58.7 / 69.2 / 72.6 / 72.8 / 72.4 /
72.0 / 70.7% after 0-6 blocks (docs/models.md), so the default pools after block 3 of 6, and the
blocks above it are not computed at all.

The front end is Whisper's own (``whisper/audio.py``): 16 kHz, a 25 ms periodic Hann window
every 10 ms, frames centred with reflect padding and the last one dropped, 80 slaney mel bands,
``log10`` floored 8 decades under the clip's peak, then ``(x + 4) / 4``. The clip is not padded
to Whisper's 30 s: the encoder runs on the Transform's clip length (3 s for RAVDESS), ten times
less work, and the states are pooled over all of it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from components.core.errors import ConfigurationError
from components.transform import audio_features, filterbanks, frame_stats
from components.transform.whisper_weights import WhisperEncoder

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
_TOP_DB = 80.0  # Whisper keeps 8 decades under the clip's peak
_LN_EPSILON = 1e-5
POOLING = frame_stats.STATISTICS  # over the clip's states: mean, then standard deviation


def width(encoder: WhisperEncoder) -> int:
    """Values ``pooled_states`` appends: the mean and standard deviation of each state unit."""
    return len(POOLING) * encoder.width


def check_layer(encoder: WhisperEncoder, layer: int) -> None:
    if not 0 <= layer <= encoder.num_layers:
        raise ConfigurationError(
            f"features.speech_encoder_layer must be in [0, {encoder.num_layers}] for this "
            f"encoder (its blocks), got {layer}")


def log_mel(waveforms: tf.Tensor, n_mels: int = 80) -> tf.Tensor:
    """Whisper's log-mel input ``[batch, frames, n_mels]`` of 16 kHz float32 waveforms.

    Whisper's ``log10`` floored at 1e-10 and 8 decades under the clip's peak is the project's
    ``power_to_db`` (librosa's amin, per-clip ``top_db`` 80) divided by 10."""
    power = audio_features.stft_power(waveforms, N_FFT, HOP, pad_mode="REFLECT")[:, :-1]
    basis = filterbanks.mel_basis(SAMPLE_RATE, N_FFT, n_mels, 0.0, None).T.astype(np.float32)
    mel = tf.tensordot(power, tf.constant(basis), axes=1)
    return (audio_features.power_to_db(mel, top_db=_TOP_DB) / 10.0 + 4.0) / 4.0


def constants(encoder: WhisperEncoder, layer: int) -> dict:
    """The weights the states after ``layer`` blocks need, as graph constants in the layouts
    TF's ops take (CTranslate2 keeps PyTorch's: Conv1d [out, in, k], Linear [out, in]).

    Made once per graph and passed to every place that computes the states: ``in_chunks``
    traces the encoder twice (its direct path and its chunk loop), and constants made in each
    would put the weights in the exported graph twice."""
    check_layer(encoder, layer)
    needed = ("conv", "position_encodings") + tuple(f"layer_{i}/" for i in range(layer)) + (
        ("layer_norm/",) if layer == encoder.num_layers else ())
    out = {}
    for name, array in encoder.tensors.items():
        if not name.startswith(needed):
            continue
        if name.startswith("conv") and name.endswith("/weight"):
            array = np.transpose(array, (2, 1, 0))
        elif name.endswith("/weight"):
            array = array.T
        out[name] = tf.constant(np.ascontiguousarray(array))
    return out


def _conv(x: tf.Tensor, t: dict, name: str, stride: int) -> tf.Tensor:
    """PyTorch's Conv1d(kernel 3, padding 1)."""
    x = tf.pad(x, [[0, 0], [1, 1], [0, 0]])
    return tf.nn.conv1d(x, t[name + "/weight"], stride=stride, padding="VALID") + t[name + "/bias"]


def _layer_norm(x: tf.Tensor, t: dict, name: str) -> tf.Tensor:
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + _LN_EPSILON) * t[name + "/gamma"] + t[name + "/beta"]


def _dense(x: tf.Tensor, t: dict, name: str) -> tf.Tensor:
    return tf.tensordot(x, t[name + "/weight"], axes=1) + t[name + "/bias"]


def _block(x: tf.Tensor, t: dict, prefix: str, num_heads: int) -> tf.Tensor:
    """A pre-LayerNorm transformer block: self-attention, then a GELU MLP, each residual."""
    batch, steps, dim = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
    head = dim // num_heads
    qkv = _dense(_layer_norm(x, t, prefix + "self_attention/layer_norm"), t,
                 prefix + "self_attention/linear_0")
    q, k, v = (tf.transpose(tf.reshape(part, [batch, steps, num_heads, head]), [0, 2, 1, 3])
               for part in tf.split(qkv, 3, axis=-1))
    scores = tf.matmul(q, k, transpose_b=True) / float(np.sqrt(head))
    attended = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
    attended = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch, steps, dim])
    x = x + _dense(attended, t, prefix + "self_attention/linear_1")
    hidden = tf.nn.gelu(_dense(_layer_norm(x, t, prefix + "ffn/layer_norm"), t,
                               prefix + "ffn/linear_0"), approximate=False)
    return x + _dense(hidden, t, prefix + "ffn/linear_1")


def hidden_states(encoder: WhisperEncoder, mel: tf.Tensor, layer: int,
                  weights: dict | None = None) -> tf.Tensor:
    """States ``[batch, ceil(frames / 2), width]`` after ``layer`` blocks (the encoder's final
    LayerNorm applied when ``layer`` is the last), for at most 3000 input frames (30 s).
    ``weights``: ``constants(encoder, layer)``, made here when not given."""
    t = constants(encoder, layer) if weights is None else weights
    x = tf.nn.gelu(_conv(mel, t, "conv1", 1), approximate=False)
    x = tf.nn.gelu(_conv(x, t, "conv2", 2), approximate=False)
    x = x + t["position_encodings/encodings"][:tf.shape(x)[1]]
    for i in range(layer):
        x = _block(x, t, f"layer_{i}/", encoder.num_heads)
    if layer == encoder.num_layers:
        x = _layer_norm(x, t, "layer_norm")
    return x


def pooled_states(waveforms: tf.Tensor, encoder: WhisperEncoder, layer: int,
                  weights: dict | None = None) -> tf.Tensor:
    """``[batch, width(encoder)]``: mean, then standard deviation, of each unit of the states
    after ``layer`` blocks over the clip (``frame_stats.pool``, as the utterance statistics),
    in the waveforms' dtype. ``weights`` as in ``hidden_states``."""
    states = hidden_states(encoder, log_mel(tf.cast(waveforms, tf.float32), encoder.n_mels),
                           layer, weights)
    return tf.cast(frame_stats.pool(states, POOLING), waveforms.dtype)
