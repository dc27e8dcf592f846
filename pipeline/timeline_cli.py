"""`mer predict --audio long.wav --timeline`: an emotion timeline of a whole recording.

The timeline itself is `serving.timeline` (the web API answers the same one); this module maps
the command's flags onto its settings and prints a table or JSON. The window defaults to the
clip length the served models were trained on: `--preset`'s `features.duration_s` (3 s for
demo, ravdess, cremad), or `--window` when the model was trained on another length.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Optional

from components.core.errors import UsageError
from components.core.segments import SegmentSettings

DEFAULT_WINDOW_S = SegmentSettings.window_s  # the defaults' one home: SegmentSettings


def add_arguments(pred: argparse.ArgumentParser) -> None:
    """The timeline's flags on `mer predict`."""
    group = pred.add_argument_group("timeline (with --audio and --timeline)")
    group.add_argument("--timeline", action="store_true",
                       help="score the whole recording segment by segment (any length, "
                            "streamed): a table of segments and a summary")
    group.add_argument("--preset", help="window = this preset's clip length "
                                        "(features.duration_s)")
    group.add_argument("--window", type=float, metavar="S",
                       help=f"window length in seconds (default: --preset's clip length, else "
                            f"{DEFAULT_WINDOW_S:g})")
    group.add_argument("--hop", type=float, metavar="S",
                       help="seconds between window starts (default: the window: no overlap)")
    group.add_argument("--vad-threshold", type=float, metavar="DBFS",
                       default=SegmentSettings.vad_threshold_dbfs,
                       help="a 30 ms frame louder than this is speech (default %(default)g dBFS)")
    group.add_argument("--max-duration", type=float, metavar="S",
                       default=SegmentSettings.max_duration_s,
                       help="longest recording accepted (default 4 h)")
    group.add_argument("--max-segments", type=int, default=SegmentSettings.max_segments,
                       help="most windows per recording (default %(default)d)")
    group.add_argument("--json", action="store_true", help="print the timeline as JSON")


def window_for(preset: Optional[str], window: Optional[float]) -> float:
    """The window: --window, else --preset's clip length, else the default."""
    if window is not None:
        return window
    if preset is None:
        return DEFAULT_WINDOW_S
    from pipeline.configs import clip_window_s, get_preset

    try:
        return clip_window_s(get_preset(preset))
    except UsageError as e:
        raise UsageError(f"{e} (--window SECONDS)") from None


def settings_from_args(args: argparse.Namespace) -> SegmentSettings:
    """The segmenter's settings from `mer predict`'s flags."""

    return SegmentSettings(window_s=window_for(args.preset, args.window), hop_s=args.hop,
                           vad_threshold_dbfs=args.vad_threshold,
                           max_duration_s=args.max_duration, max_segments=args.max_segments)


def cmd_timeline(args: argparse.Namespace, single_model: bool) -> int:
    """Prints the timeline of `args.audio` from the served SER (and TER/MER with text)."""
    from components.core.tasks import TASK_INPUTS
    from serving.client import EmotionClient, backend_from_url
    from serving.timeline import build_timeline, format_table

    if not args.audio:
        raise UsageError("--timeline needs --audio FILE (the recording)")
    settings = settings_from_args(args)
    from components.core.segments import SegmentStream

    SegmentStream(args.audio, settings)  # refuse a bad or too long file before loading models
    if single_model and not args.server:
        from serving.backends.single import SingleModelBackend

        backend = SingleModelBackend(args.model_dir)
        tasks: tuple[str, ...] = (backend.task,)
    else:
        backend = backend_from_url(args.server, timeout=args.timeout) if args.server \
            else backend_from_url(args.model_dir)
        tasks = ("ser", "ter", "mer") if args.task in (None, "all") else (args.task,)
        if not args.server and args.task in (None, "all"):  # the models this repository has
            tasks = tuple(t for t in tasks if os.path.isdir(os.path.join(args.model_dir, t)))
    transcribe = None
    wants_text = any("text" in TASK_INPUTS[t] for t in tasks)
    if args.text is None and wants_text and not args.no_asr:
        from serving import asr

        transcribe = asr.transcribe if asr.available() else None
    if wants_text and args.text is None and transcribe is None:
        tasks = tuple(t for t in tasks if "text" not in TASK_INPUTS[t])
        if not tasks:
            raise UsageError(f"the {', '.join(t for t in TASK_INPUTS if t != 'ser')} models "
                             f"need text: give --text, or install pocketsphinx for the ASR")
    with EmotionClient(backend) as client:
        timeline = build_timeline(args.audio, client, settings, tasks=tasks, top_k=args.top_k,
                                  text=args.text, transcribe=transcribe)
    if args.json:
        print(json.dumps(timeline.as_dict(), indent=1))
    else:
        print(f"backend: {backend.description}")
        for line in format_table(timeline):
            print(line)
    return 0
