"""A recording of any length as the segments a clip model was trained for, decoded as a stream.

Why here: the served models read one clip of the preset's duration (3 s for RAVDESS), while
users have whole recordings (a call, an interview). `mer predict --timeline`, `POST
/api/timeline` (serving) and `mer infer --timeline` (pipeline) all cut a recording the same way,
so the rule lives once, in the core, with NumPy and soundfile only.

How, and why memory stays bounded whatever the length:

* the file is read in blocks (`soundfile.SoundFile.blocks`), mixed down to mono and resampled
  to 16 kHz with soxr's *streaming* resampler, at the quality ingestion's `librosa.resample`
  uses (soxr HQ; the two differ only near block edges, by resampler rounding);
* a ring holds at most one window plus one block of 16 kHz samples;
* an energy voice-activity detector marks 30 ms frames louder than `vad_threshold_dbfs`;
  a window with less than `min_voiced_share` of voiced frames is silence and is skipped
  (counted, never silently lost);
* windows start every `hop_s`; the tail shorter than a window is a last, shorter segment when
  it holds at least `min_tail_s` of audio (the model pads it with zeros, as it pads short
  training clips).

Limits (`max_duration_s`, `max_segments`) are settings; beyond them `SegmentLimitError` says
which limit, the value and the fix, before decoding when the header gives the length.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Iterator, Optional, Union

import numpy as np
import soundfile as sf

from components.core.contract import SAMPLE_RATE, InvalidInput
from components.core.errors import DataError, UsageError
from components.core.wav import check_wav_complete, encode_wav


class SegmentLimitError(DataError):
    """The recording is longer, or gives more segments, than the settings allow."""


class UnreadableRecordingError(DataError):
    """The file is not audio soundfile reads, is cut short, or holds no samples."""


@dataclasses.dataclass(frozen=True)
class SegmentSettings:
    """How a recording is cut; every field is a setting (CLI flags, server options)."""

    window_s: float = 3.0  # the model's clip length (the preset's features.duration_s)
    hop_s: Optional[float] = None  # start-to-start distance; None: window_s (no overlap)
    vad_threshold_dbfs: float = -45.0  # a 30 ms frame louder than this is voiced
    vad_frame_s: float = 0.03
    min_voiced_share: float = 0.2  # a window with fewer voiced frames is silence
    min_tail_s: float = 1.0  # a last, shorter window is scored when it holds this much
    max_duration_s: float = 4 * 3600.0
    max_segments: int = 20_000
    block_s: float = 10.0  # seconds decoded per read: the memory bound's other half

    def __post_init__(self) -> None:
        if not 0 < self.window_s <= 600:
            raise UsageError(f"window_s must be in (0, 600] seconds, got {self.window_s}")
        if self.hop_s is not None and not 0 < self.hop_s <= self.window_s:
            raise UsageError(f"hop_s must be in (0, window_s={self.window_s:g}] seconds, got "
                             f"{self.hop_s} (a hop longer than the window would skip audio)")
        if not 0 <= self.min_voiced_share <= 1:
            raise UsageError(f"min_voiced_share is a share in [0, 1], got "
                             f"{self.min_voiced_share}")
        if self.max_duration_s <= 0 or self.max_segments <= 0:
            raise UsageError("max_duration_s and max_segments must be positive")

    @property
    def hop(self) -> float:
        return self.window_s if self.hop_s is None else self.hop_s


@dataclasses.dataclass(frozen=True)
class Segment:
    index: int  # the window's position among all windows (silent ones included)
    start_s: float
    end_s: float
    samples: np.ndarray  # float32 mono 16 kHz

    def wav(self) -> bytes:
        """The segment in the contract's format (what every model's `audio` input takes)."""
        return encode_wav(self.samples)


@dataclasses.dataclass
class SegmentStats:
    """What the stream saw: every window is either yielded or counted as silent."""

    duration_s: float = 0.0  # audio decoded so far (final once the stream is exhausted)
    source_sample_rate: int = 0
    source_channels: int = 0
    source_format: str = ""
    windows: int = 0
    silent: int = 0


def expected_windows(duration_s: float, settings: SegmentSettings) -> int:
    """How many windows a recording of `duration_s` gives (the limit check before decoding)."""
    if duration_s <= settings.window_s:
        return 1
    full = int(math.floor((duration_s - settings.window_s) / settings.hop + 1e-9)) + 1
    tail = duration_s - ((full - 1) * settings.hop + settings.window_s)
    return full + (1 if tail >= settings.min_tail_s else 0)


class SegmentStream:
    """Iterate to get the voiced `Segment`s of `path`; `stats` counts what was skipped.

        stream = SegmentStream("call.flac", SegmentSettings(window_s=3.0, hop_s=1.5))
        for seg in stream: ...
        stream.stats.silent  # windows skipped as silence
    """

    def __init__(self, path: Union[str, os.PathLike], settings: SegmentSettings):
        self.path, self.settings = os.fspath(path), settings
        self.stats = SegmentStats()
        self._open()  # refuse a bad or too long file now, before the caller starts work

    def _open(self) -> None:
        name = self.path
        try:
            check_wav_complete(name)
        except InvalidInput as e:
            raise UnreadableRecordingError(f"{e.detail}; send the whole file") from None
        try:
            with sf.SoundFile(name) as f:
                rate, channels, frames, fmt = f.samplerate, f.channels, f.frames, f.format
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
            reason = getattr(e, "error_string", None) or str(e)
            raise UnreadableRecordingError(
                f"{name}: could not decode the audio ({reason}); send a WAV, FLAC or Ogg "
                f"file") from None
        self.stats.source_sample_rate, self.stats.source_channels = rate, channels
        self.stats.source_format = fmt
        if 0 < frames < 2**62:  # streamed WAVs may not know their length
            self._check_limits(frames / rate)

    def _check_limits(self, duration_s: float) -> None:
        s = self.settings
        if duration_s > s.max_duration_s:
            raise SegmentLimitError(
                f"{self.path}: the recording is {duration_s:.1f} s long; the limit is "
                f"{s.max_duration_s:g} s (raise the max_duration_s setting, `--max-duration` "
                f"on the command line, or split the recording)")
        n = expected_windows(duration_s, s)
        if n > s.max_segments:
            raise SegmentLimitError(
                f"{self.path}: a {duration_s:.1f} s recording gives {n} windows of "
                f"{s.window_s:g} s every {s.hop:g} s; the limit is {s.max_segments} (raise "
                f"the max_segments setting, `--max-segments` on the command line, use a "
                f"longer hop, or split the recording)")

    def _blocks(self) -> Iterator[np.ndarray]:
        """16 kHz mono float32 blocks of the whole file."""
        s = self.settings
        with sf.SoundFile(self.path) as f:
            rate = f.samplerate
            resampler = None
            if rate != SAMPLE_RATE:
                import soxr  # librosa's soxr_hq backend, in its streaming form

                resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32",
                                                quality="HQ")
            read = 0
            for block in f.blocks(blocksize=max(1, int(s.block_s * rate)), dtype="float32",
                                  always_2d=True):
                read += block.shape[0]
                if read / rate > s.max_duration_s:  # a header without a length
                    self._check_limits(read / rate)
                mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                mono = np.ascontiguousarray(mono, dtype=np.float32)
                if not np.all(np.isfinite(mono)):
                    raise UnreadableRecordingError(f"{self.path}: the audio holds NaN/Inf "
                                                   f"samples")
                yield resampler.resample_chunk(mono, last=False) if resampler else mono
            if resampler is not None:
                yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            self.stats.duration_s = read / rate
        if read == 0:
            raise UnreadableRecordingError(f"{self.path}: the file holds no audio samples")

    def _voiced(self, samples: np.ndarray) -> bool:
        s = self.settings
        frame = max(1, int(s.vad_frame_s * SAMPLE_RATE))
        n = samples.size // frame
        if n == 0:
            frames = samples[np.newaxis, :]
        else:
            frames = samples[:n * frame].reshape(n, frame)
        rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-20)
        voiced = 20 * np.log10(rms) > s.vad_threshold_dbfs
        return bool(voiced.any()) and float(voiced.mean()) >= s.min_voiced_share

    def __iter__(self) -> Iterator[Segment]:
        s = self.settings
        win = int(round(s.window_s * SAMPLE_RATE))
        hop = int(round(s.hop * SAMPLE_RATE))
        buf = np.zeros(0, np.float32)
        offset = 0  # absolute sample index of buf[0]
        start = 0  # absolute start of the next window
        index = 0
        for block in self._blocks():
            buf = np.concatenate([buf, block]) if buf.size else block
            while start + win <= offset + buf.size:
                yield from self._emit(index, start, buf[start - offset:start - offset + win])
                index, start = index + 1, start + hop
            drop = min(start - offset, buf.size)
            buf, offset = buf[drop:], offset + drop
        end = offset + buf.size
        # The tail: a last, shorter window from the next start to the end, when the audio no
        # full window covered is at least min_tail_s (or the recording is shorter than one).
        uncovered = end - ((index - 1) * hop + win) if index else end
        if start < end and (index == 0 or uncovered >= s.min_tail_s * SAMPLE_RATE):
            yield from self._emit(index, start, buf[start - offset:])

    def _emit(self, index: int, start: int, samples: np.ndarray) -> Iterator[Segment]:
        self.stats.windows += 1
        if self.stats.windows > self.settings.max_segments:
            raise SegmentLimitError(
                f"{self.path}: more than {self.settings.max_segments} windows (raise "
                f"max_segments, use a longer hop, or split the recording)")
        if not self._voiced(samples):
            self.stats.silent += 1
            return
        yield Segment(index, start / SAMPLE_RATE, (start + samples.size) / SAMPLE_RATE,
                      np.array(samples, dtype=np.float32))
