"""An emotion timeline of a whole recording: what `mer predict --timeline` prints and `POST
/api/timeline` answers, computed once here for both.

The recording is cut by `components.core.segments` (streamed, silence skipped, windows of the
model's clip length); each voiced segment is scored by SER in batches through `EmotionClient`
(so any backend: in-process, REST, gRPC), and by TER and MER when there is text: the offline ASR's
transcript of that segment, or a transcript the caller gives for the whole recording. The
summary says how much of the voiced time each emotion held (each segment owns its first hop,
so overlapping windows are not counted twice) and where the strongest moments are.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from typing import Callable, Optional, Union

from components.core.segments import Segment, SegmentSettings, SegmentStream
from serving.backends.base import Prediction
from serving.client import EmotionClient
from serving.errors import NoSignalError

#: Segments sent to the model per request: bounded so memory stays bounded too.
BATCH_SEGMENTS = 32
STRONGEST_MOMENTS = 5


@dataclasses.dataclass
class TimelineSegment:
    start_s: float
    end_s: float
    results: dict[str, list[Prediction]]  # task -> top emotions (absent: not scored)
    text: Optional[str] = None
    text_source: Optional[str] = None  # "user" | "asr"


@dataclasses.dataclass
class Moment:
    task: str
    emotion: str
    probability: float
    start_s: float
    end_s: float


@dataclasses.dataclass
class Timeline:
    duration_s: float
    window_s: float
    hop_s: float
    segments: list[TimelineSegment]
    silent_windows: int  # windows skipped as silence (counted, not lost)
    no_signal_windows: int  # voiced by the VAD, but refused by the no-signal rule
    share: dict[str, dict[str, float]]  # task -> emotion -> share of the scored time
    strongest: list[Moment]
    source_sample_rate: int = 0
    source_channels: int = 0
    source_format: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


Transcriber = Callable[[bytes], str]


def build_timeline(path: Union[str, os.PathLike], client: EmotionClient,
                   settings: SegmentSettings, tasks: tuple[str, ...] = ("ser",),
                   top_k: int = 3, text: Optional[str] = None,
                   transcribe: Optional[Transcriber] = None) -> Timeline:
    """Score every voiced segment of the recording at `path` with each task in `tasks`.

    `text` is the whole recording's transcript (every segment is scored with it); otherwise
    `transcribe` (the offline ASR), when given, transcribes each segment. Tasks that need text
    are not scored on a segment without any. Limits raise `SegmentLimitError` before decoding.
    """
    stream = SegmentStream(path, settings)
    segments: list[TimelineSegment] = []
    no_signal = 0
    batch: list[Segment] = []

    def flush() -> None:
        nonlocal no_signal
        scored, refused = _score(client, batch, tasks, top_k, text, transcribe)
        segments.extend(scored)
        no_signal += refused
        batch.clear()

    for segment in stream:
        batch.append(segment)
        if len(batch) >= BATCH_SEGMENTS:
            flush()
    if batch:
        flush()
    st = stream.stats
    return Timeline(
        duration_s=round(st.duration_s, 3), window_s=settings.window_s, hop_s=settings.hop,
        segments=segments, silent_windows=st.silent, no_signal_windows=no_signal,
        share=_share(segments, settings.hop), strongest=_strongest(segments),
        source_sample_rate=st.source_sample_rate, source_channels=st.source_channels,
        source_format=st.source_format)


def _score(client: EmotionClient, batch: list[Segment], tasks: tuple[str, ...], top_k: int,
           text: Optional[str], transcribe: Optional[Transcriber]
           ) -> tuple[list[TimelineSegment], int]:
    wavs = [seg.wav() for seg in batch]
    texts: list[Optional[str]]
    if text is not None:
        texts, source = [text] * len(batch), "user"
    elif transcribe is not None and any(t != "ser" for t in tasks):
        texts, source = [transcribe(w) or None for w in wavs], "asr"
    else:
        texts, source = [None] * len(batch), None
    out = [TimelineSegment(round(seg.start_s, 3), round(seg.end_s, 3), {}, t,
                           source if t else None) for seg, t in zip(batch, texts, strict=True)]
    refused = set()
    for task in tasks:
        rows = [i for i, t in enumerate(texts) if task == "ser" or t]
        if not rows:
            continue
        audios = [wavs[i] for i in rows] if task != "ter" else None
        words = [texts[i] for i in rows] if task != "ser" else None
        for i, preds in zip(rows, _predict(client, task, words, audios, top_k), strict=True):
            if preds is None:
                refused.add(i)
            else:
                out[i].results[task] = preds
    kept = [s for i, s in enumerate(out) if i not in refused or s.results]
    return kept, len(out) - len(kept)


def _predict(client: EmotionClient, task: str, texts, audios, top_k: int
             ) -> list[Optional[list[Prediction]]]:
    """One batch; when a row has no signal (the client refuses the batch), row by row."""
    try:
        return list(client.predict_batch(task, texts, audios, top_k=top_k))
    except NoSignalError:
        pass
    rows: list[Optional[list[Prediction]]] = []
    for i in range(len(texts if texts is not None else audios)):
        try:
            rows.append(client.predict(task, texts[i] if texts else None,
                                       audios[i] if audios else None, top_k=top_k))
        except NoSignalError:
            rows.append(None)
    return rows


def _share(segments: list[TimelineSegment], hop_s: float) -> dict[str, dict[str, float]]:
    """task -> emotion -> share of the scored time it was the top emotion (sums to 1)."""
    held: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for seg in segments:
        own = min(hop_s, seg.end_s - seg.start_s)  # overlapping windows: each owns its hop
        for task, preds in seg.results.items():
            if preds:
                held[task][preds[0].emotion] += own
    share = {}
    for task, per in held.items():
        total = sum(per.values())
        share[task] = {e: round(t / total, 4)
                       for e, t in sorted(per.items(), key=lambda kv: -kv[1])}
    return share


def _strongest(segments: list[TimelineSegment]) -> list[Moment]:
    """The most confident segment of each (task, top emotion), most confident first."""
    best: dict[tuple[str, str], Moment] = {}
    for seg in segments:
        for task, preds in seg.results.items():
            if not preds:
                continue
            top = preds[0]
            key = (task, top.emotion)
            if key not in best or top.probability > best[key].probability:
                best[key] = Moment(task, top.emotion, round(top.probability, 4), seg.start_s,
                                   seg.end_s)
    return sorted(best.values(), key=lambda m: -m.probability)[:STRONGEST_MOMENTS]


def format_table(timeline: Timeline) -> list[str]:
    """The timeline as terminal lines: one row per segment, then the summary."""
    tasks = sorted({t for s in timeline.segments for t in s.results})
    lines = [f"recording: {timeline.duration_s:.1f} s, {len(timeline.segments)} segments of "
             f"{timeline.window_s:g} s every {timeline.hop_s:g} s; {timeline.silent_windows} "
             f"silent windows skipped, {timeline.no_signal_windows} without signal"]
    lines.append(f"{'start':>8} {'end':>8}  " + "  ".join(f"{t:<22}" for t in tasks)
                 + ("  text" if any(s.text for s in timeline.segments) else ""))
    for seg in timeline.segments:
        cells = []
        for t in tasks:
            preds = seg.results.get(t)
            cells.append(f"{preds[0].emotion} {preds[0].probability:.3f}" if preds else "-")
        row = f"{seg.start_s:8.2f} {seg.end_s:8.2f}  " + "  ".join(f"{c:<22}" for c in cells)
        lines.append(row + (f"  {seg.text}" if seg.text else ""))
    for task, per in timeline.share.items():
        lines.append(f"share of time ({task}): " + ", ".join(
            f"{e} {100 * v:.1f}%" for e, v in per.items()))
    for m in timeline.strongest:
        lines.append(f"strongest: {m.task} {m.emotion} {m.probability:.3f} at "
                     f"{m.start_s:.2f}-{m.end_s:.2f} s")
    return lines
