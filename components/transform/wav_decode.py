"""WAV bytes -> fixed-length float waveforms, in the TF graph (Transform and serving alike).

This decoder is inside every exported model (the Transform's graph), so it is also the raw
signature's gatekeeper: a client calling TF Serving directly with a 44.1 kHz, 24-bit or float
WAV must get INVALID_ARGUMENT naming the expected format, not confident predictions computed on
the wrong frequency scale. The header is therefore checked in TF ops before any sample is read.

Why the model rejects instead of resampling: the features must see what training saw, and the
training audio was resampled by soxr (librosa's default, `components/core/wav.py`). TF has no
soxr-equivalent op; an in-graph polyphase filter would be a second resampler whose output differs
from ingestion's (a different filter design, passband and phase), i.e. training/serving skew.
Clients convert once with the same resampler (`serving.audio.to_wav16k`).

Why it is vectorised: the canonical layout (44-byte header, `data` right after a 16-byte `fmt `
chunk: what ingestion, `serving.audio` and most encoders write) is decoded for the whole batch
with one `decode_raw` instead of one `tf.audio.decode_wav` per clip in a `map_fn`, a loop whose
per-clip overhead was a large share of the whole feature graph's time. Other layouts (extra
chunks, several channels) take that per-clip path, only for the clips that need it.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from components.core.contract import SAMPLE_RATE

#: What the raw signature reads; every rejection message names it.
EXPECTED_FORMAT = "a 16 kHz mono 16-bit PCM WAV file"
_CANONICAL_HEADER = 44  # RIFF(12) + fmt chunk(8 + 16) + data chunk header(8)
_PCM = 1  # WAVE_FORMAT_PCM; 3 is IEEE float, 0xFFFE WAVE_FORMAT_EXTENSIBLE


# Little-endian header fields: (name, byte offset, size). Read with one matmul (float64 holds
# 32-bit values exactly), not one op per byte: the decoder's fixed cost per call matters for
# small serving batches.
_FIELDS = (("fmt_size", 16, 4), ("format_tag", 20, 2), ("channels", 22, 2),
           ("sample_rate", 24, 4), ("bits", 34, 2), ("data_size", 40, 4))
_MAGIC = ((0, b"RIFF"), (8, b"WAVE"), (12, b"fmt "))


def _field_weights() -> np.ndarray:
    weights = np.zeros((_CANONICAL_HEADER, len(_FIELDS)), np.float64)
    for j, (_, offset, size) in enumerate(_FIELDS):
        weights[offset:offset + size, j] = 256.0 ** np.arange(size)
    return weights


def _magic_pattern(items) -> tuple[np.ndarray, np.ndarray]:
    """(mask, expected bytes) over the header for the given (offset, text) signatures."""
    mask = np.zeros(_CANONICAL_HEADER, np.uint8)
    want = np.zeros(_CANONICAL_HEADER, np.uint8)
    for offset, text in items:
        mask[offset:offset + len(text)] = 0xFF
        want[offset:offset + len(text)] = list(text)
    return mask, want


def _matches(header: tf.Tensor, items) -> tf.Tensor:
    mask, want = _magic_pattern(items)
    return tf.reduce_all(tf.equal(tf.bitwise.bitwise_and(header, mask), want), axis=1)


def check_header(wav_bytes: tf.Tensor, expected_sample_rate: Optional[int] = SAMPLE_RATE
                 ) -> tuple[tf.Tensor, dict]:
    """A check refusing what the decoder cannot read correctly, and the header fields.

    Empty strings are "no audio" and pass. Everything else must have a RIFF/WAVE header whose
    first chunk is `fmt ` (as `tf.audio.decode_wav` requires), format tag 1 (integer PCM),
    16 bits per sample and, unless `expected_sample_rate` is None, that sample rate. A canonical
    file whose data chunk is longer than the bytes present (a truncated upload) is refused too.
    The returned tensor is True once the check passed (run it before reading samples); the
    message is only built when it fails.
    """
    length = tf.cast(tf.strings.length(wav_bytes), tf.int64)
    header = tf.io.decode_raw(wav_bytes, tf.uint8, fixed_length=_CANONICAL_HEADER)
    values = tf.cast(tf.matmul(tf.cast(header, tf.float64), _field_weights()), tf.int64)
    fields = {name: values[:, j] for j, (name, _, _) in enumerate(_FIELDS)}
    fields["riff"] = _matches(header, _MAGIC)
    canonical = _matches(header, _MAGIC + ((36, b"data"),)) & tf.equal(fields["fmt_size"], 16)
    truncated = canonical & (fields["data_size"] > length - _CANONICAL_HEADER)
    readable = fields["riff"] & tf.equal(fields["format_tag"], _PCM) & tf.equal(
        fields["bits"], 16) & (fields["channels"] > 0) & ~truncated
    if expected_sample_rate is not None:
        readable &= tf.equal(fields["sample_rate"], int(expected_sample_rate))
    bad = (length > 0) & ~readable

    def refuse() -> tf.Tensor:
        first = tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int64)

        def at(name: str) -> tf.Tensor:
            return tf.strings.as_string(tf.gather(fields[name], first))

        found = tf.strings.join([
            "format tag ", at("format_tag"), " (1 = integer PCM, 3 = float, 65534 = "
            "extensible), ", at("channels"), " channel(s), ", at("sample_rate"), " Hz, ",
            at("bits"), " bits per sample"])
        found = tf.where(tf.gather(truncated, first), tf.strings.join([
            "a truncated WAV file (its data chunk declares ", at("data_size"),
            " bytes, fewer follow the header)"]), found)
        found = tf.where(tf.gather(fields["riff"], first), found,
                         "not a WAV file (no RIFF/WAVE/fmt header)")
        message = tf.strings.join([
            "audio must be ", EXPECTED_FORMAT, "; batch element ", tf.strings.as_string(first),
            " is ", found, ". Convert it first (serving.audio.to_wav16k does, with the "
            "resampler ingestion uses; or `sox in.wav -r 16000 -b 16 -c 1 out.wav`)."])
        with tf.control_dependencies([tf.debugging.Assert(False, [message], summarize=1)]):
            return tf.constant(False)

    passed = tf.cond(tf.reduce_any(bad), refuse, lambda: tf.constant(True))
    # Exactly header + data, one channel: the whole batch is read by one decode_raw.
    fields["canonical_mono"] = canonical & tf.equal(fields["channels"], 1) & tf.equal(
        length - _CANONICAL_HEADER, fields["data_size"])
    return passed, fields


def decode_wav(wav_bytes: tf.Tensor, num_samples: int,
               expected_sample_rate: Optional[int] = SAMPLE_RATE
               ) -> tuple[tf.Tensor, tf.Tensor]:
    """Decode a batch of 16-bit PCM WAV files into fixed-length float32 waveforms.

    Fixed length (zero-padded at the end or trimmed) because the downstream features and the
    models need static shapes; the original lengths are returned so callers can still mask or
    weight by real duration. Empty strings mean "no audio" (e.g. a text-only example) and give
    all-zero waveforms with length 0 instead of a decode error, so one missing clip cannot fail
    a whole Transform/serving batch. Multi-channel audio is averaged to mono (what ingestion's
    downmix does).

    Args:
      wav_bytes: string tensor ``[batch]`` (``[batch, 1]`` is accepted too) of WAV file bytes.
      num_samples: output length in samples (e.g. 3 s * 16000).
      expected_sample_rate: the rate a WAV must have (default: the contract's 16 kHz); None
        accepts any rate (for tools that handle the rate themselves). Other formats than
        16-bit integer PCM and non-WAV bytes are always refused.

    Returns:
      ``(waveforms, lengths)``: float32 ``[batch, num_samples]`` in [-1, 1) (samples / 32768)
      and int64 ``[batch]`` original sample counts (0 for empty input).

    Raises:
      tf.errors.InvalidArgumentError (when run): for any non-empty element that is not
      readable, with a message naming the expected format, the element and what it is.
    """
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ValueError(f"num_samples must be > 0, got {num_samples}")
    wav_bytes = tf.convert_to_tensor(wav_bytes, dtype=tf.string)
    if wav_bytes.shape.rank == 2:
        wav_bytes = tf.squeeze(wav_bytes, axis=1)  # tf.Transform FixedLenFeature([1]) layout
    elif wav_bytes.shape.rank is not None and wav_bytes.shape.rank != 1:
        raise ValueError(f"wav_bytes must have shape [batch], got {wav_bytes.shape}")

    passed, fields = check_header(wav_bytes, expected_sample_rate)
    with tf.control_dependencies([passed]):
        wav_bytes = tf.identity(wav_bytes)
    # Fast path, whole batch: samples start at byte 44; decode_raw zero-pads/trims to length.
    pcm = tf.io.decode_raw(wav_bytes, tf.int16, little_endian=True,
                           fixed_length=_CANONICAL_HEADER + 2 * num_samples)
    waveforms = tf.cast(pcm[:, _CANONICAL_HEADER // 2:], tf.float32) * (1.0 / 32768.0)
    lengths = tf.where(fields["canonical_mono"], fields["data_size"] // 2, 0)

    # Other layouts (extra chunks, several channels), only for the elements that have them.
    present = tf.strings.length(wav_bytes) > 0
    others = tf.where(present & ~fields["canonical_mono"])[:, 0]

    def decode_others() -> tuple[tf.Tensor, tf.Tensor]:
        slow_waves, slow_lengths = _decode_each(tf.gather(wav_bytes, others), num_samples)
        index = others[:, tf.newaxis]
        return (tf.tensor_scatter_nd_update(waveforms, index, slow_waves),
                tf.tensor_scatter_nd_update(lengths, index, slow_lengths))

    waveforms, lengths = tf.cond(tf.size(others) > 0, decode_others,
                                 lambda: (waveforms, lengths))
    return tf.ensure_shape(waveforms, [None, num_samples]), lengths


def _decode_each(wav_bytes: tf.Tensor, num_samples: int) -> tuple[tf.Tensor, tf.Tensor]:
    """`tf.audio.decode_wav` per clip (any chunk layout, any channel count), averaged to mono."""

    def decode_one(contents: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        audio, _ = tf.audio.decode_wav(contents)  # [samples, channels]
        mono = tf.reduce_mean(audio, axis=1)
        length = tf.shape(mono, out_type=tf.int64)[0]
        mono = mono[:num_samples]
        mono = tf.pad(mono, [[0, num_samples - tf.shape(mono)[0]]])
        return tf.ensure_shape(mono, [num_samples]), length

    return tf.map_fn(
        decode_one, wav_bytes,
        fn_output_signature=(tf.TensorSpec([num_samples], tf.float32),
                             tf.TensorSpec([], tf.int64)))
