"""WAV bytes -> fixed-length float waveforms, in the TF graph (Transform and serving alike)."""

from __future__ import annotations

from typing import Optional

import tensorflow as tf


def decode_wav(wav_bytes: tf.Tensor, num_samples: int,
               expected_sample_rate: Optional[int] = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Decode a batch of 16-bit PCM WAV files into fixed-length float32 waveforms.

    Fixed length (zero-padded at the end or trimmed) because the downstream features and the
    models need static shapes; the original lengths are returned so callers can still mask or
    weight by real duration. Empty strings mean "no audio" (e.g. a text-only example) and give
    all-zero waveforms with length 0 instead of a decode error, so one missing clip cannot fail
    a whole Transform/serving batch. Multi-channel audio is averaged to mono.

    Args:
      wav_bytes: string tensor ``[batch]`` (``[batch, 1]`` is accepted too) of WAV file bytes.
      num_samples: output length in samples (e.g. 3 s * 16000).
      expected_sample_rate: if set, a WAV with a different rate fails with an
        InvalidArgumentError instead of silently producing features on the wrong time/frequency
        scale. None (default) skips the check.

    Returns:
      ``(waveforms, lengths)``: float32 ``[batch, num_samples]`` in [-1, 1) (samples / 32768)
      and int64 ``[batch]`` original sample counts (0 for empty input).
    """
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ValueError(f"num_samples must be > 0, got {num_samples}")
    wav_bytes = tf.convert_to_tensor(wav_bytes, dtype=tf.string)
    if wav_bytes.shape.rank == 2:
        wav_bytes = tf.squeeze(wav_bytes, axis=1)  # tf.Transform FixedLenFeature([1]) layout
    elif wav_bytes.shape.rank is not None and wav_bytes.shape.rank != 1:
        raise ValueError(f"wav_bytes must have shape [batch], got {wav_bytes.shape}")

    def _decode_one(contents: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        def _decode() -> tf.Tensor:
            audio, sample_rate = tf.audio.decode_wav(contents)  # [samples, channels]
            mono = tf.reduce_mean(audio, axis=1)
            if expected_sample_rate is None:
                return mono
            check = tf.debugging.assert_equal(
                sample_rate, tf.constant(expected_sample_rate, tf.int32),
                message=f"WAV sample rate differs from expected {expected_sample_rate} Hz")
            with tf.control_dependencies([check]):
                return tf.identity(mono)

        mono = tf.cond(tf.strings.length(contents) > 0, _decode,
                       lambda: tf.zeros([0], tf.float32))
        length = tf.shape(mono, out_type=tf.int64)[0]
        mono = mono[:num_samples]
        mono = tf.pad(mono, [[0, num_samples - tf.shape(mono)[0]]])
        return tf.ensure_shape(mono, [num_samples]), length

    return tf.map_fn(
        _decode_one,
        wav_bytes,
        fn_output_signature=(tf.TensorSpec([num_samples], tf.float32),
                             tf.TensorSpec([], tf.int64)),
    )
