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
from components.transform import audio_features, filterbanks
from components.transform.whisper_weights import WhisperEncoder

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
_TOP_DB = 80.0  # Whisper keeps 8 decades under the clip's peak
_LN_EPSILON = 1e-5


def width(encoder: WhisperEncoder) -> int:
    """Values ``pooled_states`` appends: the mean and standard deviation of each state unit."""
    return 2 * encoder.width


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


def _conv(x: tf.Tensor, weight: np.ndarray, bias: np.ndarray, stride: int) -> tf.Tensor:
    """PyTorch's Conv1d(kernel 3, padding 1): CTranslate2 keeps its [out, in, k] layout."""
    kernel = tf.constant(np.transpose(weight, (2, 1, 0)))
    x = tf.pad(x, [[0, 0], [1, 1], [0, 0]])
    return tf.nn.conv1d(x, kernel, stride=stride, padding="VALID") + bias


def _layer_norm(x: tf.Tensor, t: dict, name: str) -> tf.Tensor:
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + _LN_EPSILON) * t[name + "/gamma"] + t[name + "/beta"]


def _dense(x: tf.Tensor, t: dict, name: str) -> tf.Tensor:
    return tf.tensordot(x, tf.constant(t[name + "/weight"].T), axes=1) + t[name + "/bias"]


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


def hidden_states(encoder: WhisperEncoder, mel: tf.Tensor, layer: int) -> tf.Tensor:
    """States ``[batch, ceil(frames / 2), width]`` after ``layer`` blocks (the encoder's final
    LayerNorm applied when ``layer`` is the last), for at most 3000 input frames (30 s)."""
    check_layer(encoder, layer)
    t = encoder.tensors
    x = tf.nn.gelu(_conv(mel, t["conv1/weight"], t["conv1/bias"], 1), approximate=False)
    x = tf.nn.gelu(_conv(x, t["conv2/weight"], t["conv2/bias"], 2), approximate=False)
    x = x + tf.constant(t["position_encodings/encodings"])[:tf.shape(x)[1]]
    for i in range(layer):
        x = _block(x, t, f"layer_{i}/", encoder.num_heads)
    if layer == encoder.num_layers:
        x = _layer_norm(x, t, "layer_norm")
    return x


def pooled_states(waveforms: tf.Tensor, encoder: WhisperEncoder, layer: int) -> tf.Tensor:
    """``[batch, width(encoder)]``: mean, then standard deviation, of each unit of the states
    after ``layer`` blocks over the clip, in the waveforms' dtype."""
    states = hidden_states(encoder, log_mel(tf.cast(waveforms, tf.float32), encoder.n_mels),
                           layer)
    mean, var = tf.nn.moments(states, axes=[1])
    return tf.cast(tf.concat([mean, tf.sqrt(var)], axis=1), waveforms.dtype)
