"""`mer infer`: bulk inference of a pushed SER model over a whole dataset, on Beam.

    mer infer --model-dir artifacts/serving/ser --data-root ../shared/datasets/ravdess \\
        --preset ravdess --out predictions/ [--timeline] [--runner flink --flink-master ...]

The driver lists the dataset with the preset's reader (what ingestion lists: the same ids,
the same `bad_row`/`duplicate_id` refusals), checks the model the way a server does before
serving it (loads, answers; its class names come from its own answer), runs the Beam job of
`pipeline/infer_job.py` and prints the summary it also writes as `summary.csv`. Labels are not
needed; where the dataset has them, the summary says how often the top emotion agrees.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
import time
from typing import Sequence

from components.core.errors import DataError, UsageError


def _listing(preset, data_root: str) -> tuple[list, list]:
    """(sources, rejected): the preset's reader, with ingestion's row checks and duplicates."""
    import dataclasses
    from pathlib import Path

    from components.core import contract
    from components.example_gen.ingest import _checked
    from components.example_gen.readers import get_reader

    root = Path(data_root)
    if not root.exists():
        raise UsageError(f"--data-root {root} does not exist: give the dataset folder or its "
                         f"manifest file")
    sources, rejected, seen = [], [], {}
    options = dict(preset.reader_options)
    if preset.reader == "manifest":  # scoring needs no label: unlabelled rows are listed too
        options.setdefault("require_label", False)
    for row in get_reader(preset.reader)(root, **options):
        row = _checked(row)
        if isinstance(row, contract.Rejected):
            rejected.append(row)
        elif row.id in seen:
            rejected.append(contract.Rejected(
                row.id, contract.DUPLICATE_ID, row.origin,
                f"id {row.id!r} is already listed at {seen[row.id]}, which is scored; ids must "
                f"be unique within a dataset: rename or drop this one"))
        else:
            seen[row.id] = row.origin
            sources.append(dataclasses.replace(
                row, emotion=contract.normalise_label(row.emotion)))
    return sources, rejected


def _model(model_dir: str) -> tuple[str, str, tuple[str, ...]]:
    """(version dir, version, class names) of a pushed SER model, checked as a server would."""
    from components.core.saved_model_check import VersionCheckError
    from components.core.wav import tone_wav
    from serving.backends.single import SingleModelBackend

    try:
        backend = SingleModelBackend(model_dir)
    except VersionCheckError as e:
        raise DataError(f"the model at {e.path} cannot be served: {e.reason}") from None
    if backend.task != "ser":
        raise UsageError(f"{backend.model.path} is a {backend.task or 'unknown'} model; "
                         f"`mer infer` scores audio with a SER model (e.g. artifacts/serving/ser)")
    _, names = backend.model.run({"audio": [tone_wav(0.5)]})
    return backend.model.path, backend.model.version, tuple(names)


def cmd_infer(args: argparse.Namespace) -> int:
    """Lists, checks the model, runs the Beam job, prints and writes the summary."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline import infer_job
    from pipeline.beam_args import beam_pipeline_args
    from pipeline.configs import get_preset
    from pipeline.timeline_cli import window_for

    preset = get_preset(args.preset)
    started = time.perf_counter()
    sources, listed_rejected = _listing(preset, args.data_root)
    if not sources:
        raise DataError(f"no recording listed under {args.data_root} with the {preset.name} "
                        f"reader ({len(listed_rejected)} rows refused); check --data-root and "
                        f"--preset")
    path, version, names = _model(args.model_dir)
    timeline = None
    if args.timeline:
        from components.core.segments import SegmentSettings

        timeline = SegmentSettings(window_s=window_for(args.preset, args.window), hop_s=args.hop)
    os.makedirs(args.out, exist_ok=True)
    for old in glob.glob(os.path.join(args.out, f"{infer_job.PREDICTIONS}-*")):
        os.remove(old)  # a previous run's shards would be read as this run's
    spec = infer_job.JobSpec(model_path=os.path.abspath(path), model_version=version,
                             class_names=names, out_dir=os.path.abspath(args.out),
                             timeline=timeline)
    options = beam_pipeline_args(args.runner, beam_mode=args.beam_mode or "in_memory",
                                 flink_master=args.flink_master or "",
                                 flink_job_server_jar=args.flink_job_server_jar or "",
                                 user_args=args.beam_arg)
    print(f"scoring {len(sources)} recordings ({len(listed_rejected)} refused while listing) "
          f"with {preset.name}'s reader, model version {version} ({', '.join(names)}), on "
          f"the {args.runner} runner")
    with beam.Pipeline(options=PipelineOptions(options)) as p:
        infer_job.build(p, sources, listed_rejected, spec)
    with open(os.path.join(args.out, f"{infer_job.COUNTS}.json"), encoding="utf-8") as f:
        counts = json.load(f)
    lines = summary_rows(counts, names, len(sources), len(listed_rejected),
                         time.perf_counter() - started)
    with open(os.path.join(args.out, "summary.csv"), "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("measure", "value"), *lines])
    for key, value in lines:
        print(f"  {key:<28} {value}")
    print(f"wrote {args.out}/{infer_job.PREDICTIONS}-*.parquet and .csv, summary.csv, "
          f"{infer_job.QUARANTINE}")
    scored = counts.get("recordings", 0)
    quarantined = sum(v for k, v in counts.items() if k.startswith("quarantined."))
    if scored + quarantined != len(sources) + len(listed_rejected):
        print(f"error: {len(sources) + len(listed_rejected)} listed but {scored} scored and "
              f"{quarantined} quarantined", file=sys.stderr)
        return 2
    return 0


def summary_rows(counts: dict, names: Sequence[str], listed: int, refused: int,
                 seconds: float) -> list[tuple[str, object]]:
    """The summary table: what was listed, scored and quarantined, and the emotions found."""
    rows = [("listed", listed + refused), ("recordings scored", counts.get("recordings", 0)),
            ("rows (clips or segments)", counts.get("rows", 0))]
    rows += [(f"quarantined: {k.split('.', 1)[1]}", v) for k, v in sorted(counts.items())
             if k.startswith("quarantined.")]
    if counts.get("silent_windows"):
        rows.append(("silent windows skipped", counts["silent_windows"]))
    total = max(1, counts.get("rows", 0))
    rows += [(f"top emotion: {e}", f"{counts.get(f'top.{e}', 0)} "
                                   f"({100 * counts.get(f'top.{e}', 0) / total:.1f}%)")
             for e in names]
    if counts.get("labelled"):
        rows.append(("agrees with the label", f"{100 * counts['agree'] / counts['labelled']:.1f}%"
                                              f" of {counts['labelled']} labelled rows"))
    rows.append(("wall seconds", f"{seconds:.1f}"))
    return rows


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `infer` to the `mer` parser's subcommands."""
    from pipeline.beam_args import BEAM_MODES, RUNNERS
    from pipeline.configs import PRESETS

    p = subparsers.add_parser("infer", help="score every recording of a dataset with a pushed "
                                            "SER model, on Beam (Parquet + CSV out)")
    p.add_argument("--model-dir", required=True,
                   help="the pushed SER model: its base (artifacts/serving/ser, newest version) "
                        "or a version directory")
    p.add_argument("--data-root", required=True, help="dataset folder or manifest file")
    p.add_argument("--preset", default="manifest", choices=sorted(PRESETS),
                   help="whose reader lists the data (default manifest: a CSV/JSONL manifest)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--timeline", action="store_true",
                   help="score each recording window by window (one row per voiced segment)")
    p.add_argument("--window", type=float, metavar="S",
                   help="with --timeline: window seconds (default: the preset's clip length)")
    p.add_argument("--hop", type=float, metavar="S", help="with --timeline: hop seconds")
    p.add_argument("--runner", default="direct", choices=RUNNERS)
    p.add_argument("--beam-mode", choices=BEAM_MODES, help="DirectRunner mode")
    p.add_argument("--flink-master", metavar="HOST:PORT")
    p.add_argument("--flink-job-server-jar", metavar="PATH")
    p.add_argument("--beam-arg", action="append", default=[], metavar="--OPTION=VALUE")
    p.set_defaults(fn=cmd_infer)
