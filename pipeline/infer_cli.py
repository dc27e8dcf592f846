"""`mer infer`: bulk inference of a pushed SER model over a whole dataset, on Beam.

    mer infer --model-dir artifacts/serving/ser --data-root ../shared/datasets/ravdess \\
        --preset ravdess --out predictions/ [--timeline] [--runner flink --flink-master ...]

The driver lists the dataset with the preset's reader (what ingestion lists: the same ids,
the same `bad_row`/`duplicate_id` refusals), checks the model the way a server does before
serving it (loads, answers; its class names come from its own answer), runs the Beam job of
`components/bulk_inferrer/job.py` (the job the pipeline's EmotionBulkInferrer runs after a
push, `mer run --infer-root`) and prints the summary it also writes as `summary.csv`. Labels
are not needed; where the dataset has them, the summary says how often the top emotion agrees.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time

from components.core.errors import DataError, UsageError


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

    from components.bulk_inferrer import job as infer_job
    from components.bulk_inferrer.listing import list_for_scoring
    from pipeline.beam_args import beam_pipeline_args
    from pipeline.configs import get_preset
    from pipeline.timeline_cli import window_for

    preset = get_preset(args.preset)
    started = time.perf_counter()
    sources, listed_rejected = list_for_scoring(preset, args.data_root)
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
    summary = infer_job.finish(args.out, names, len(sources), len(listed_rejected),
                               time.perf_counter() - started)
    for key, value in summary.lines:
        print(f"  {key:<28} {value}")
    print(f"wrote {args.out}/{infer_job.PREDICTIONS}-*.parquet and .csv, "
          f"{infer_job.SUMMARY}, {infer_job.QUARANTINE}")
    if not summary.complete:
        print(f"error: {summary.listed} listed but {summary.scored} scored and "
              f"{summary.quarantined} quarantined", file=sys.stderr)
        return 2
    return 0


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
