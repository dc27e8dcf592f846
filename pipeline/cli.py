"""`mer`: the command line for running, ingesting and predicting."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# pydantic (config files) would otherwise scan every installed package for plugins first.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from components.core.config import SPLIT_METHODS  # noqa: E402
from components.core.tasks import TASKS  # noqa: E402
from pipeline.beam_args import BEAM_MODES, RUNNERS  # noqa: E402
from pipeline.configs import DEFAULT_OUTPUT_DIR, PRESETS, RunConfig  # noqa: E402

DEFAULT_OUTPUT = str(DEFAULT_OUTPUT_DIR)
USAGE_ERROR = 2  # the exit status of a user error (as argparse's): fix the input, rerun
# What the user can fix: a bad option or preset value, a missing or unreadable data root or
# manifest, data with nothing valid in it (contract.DataError is a ValueError). A component
# that fails inside TFX's LocalDagRunner raises its own error through it, so a run reports
# these the same way.
USER_ERRORS = (ValueError, OSError)


def _run_config(args) -> RunConfig:
    """The run's configuration from --config/--set/--preset and the shortcut flags; a bad
    value fails here, before anything runs (and before TensorFlow is imported)."""
    from pipeline import config_file
    from pipeline.local_runner import default_data_root

    if not args.preset and not getattr(args, "config", None):
        raise SystemExit("Give --preset NAME or --config FILE (`mer config show NAME` prints a "
                         "preset as a file to start from).")
    try:
        run_file = config_file.load(getattr(args, "config", None), getattr(args, "set", None) or (),
                                    preset_name=args.preset)
    except config_file.ConfigFileError as err:
        raise SystemExit(f"configuration: {err}") from None
    preset = run_file.preset
    output_dir = os.path.abspath(args.output_dir)
    data_root = config_file.resolve_data_root(run_file, args.data_root) or (
        default_data_root(output_dir, preset.name) if preset.name == "demo" else None)
    if not data_root:
        raise SystemExit(f"--data-root is required for preset {preset.name!r} (or `data_root:` "
                         f"in the configuration file).")
    overrides = {}
    if getattr(args, "split", None):
        overrides["split"] = dataclasses.replace(preset.split, method=args.split)
    if getattr(args, "epochs", None):
        overrides["train"] = dataclasses.replace(preset.train, epochs=args.epochs)
    if getattr(args, "duration", None):
        try:
            overrides["features"] = dataclasses.replace(preset.features,
                                                        duration_s=args.duration)
        except ValueError as err:
            raise SystemExit(f"--duration: {err}") from None
    if overrides:
        preset = preset.replace(**overrides)
    config = RunConfig(
        preset=preset, data_root=os.path.abspath(data_root), output_dir=output_dir,
        enable_cache=not getattr(args, "no_cache", False),
        **_runner_options(args),
    )
    try:
        config.beam_pipeline_args()  # a bad runner option fails here, before any component runs
    except ValueError as err:
        raise SystemExit(str(err)) from None
    return config


def _runner_options(args) -> dict:
    """The RunConfig fields of --runner, --beam-mode, --flink-master and --beam-arg."""
    runner = getattr(args, "runner", "direct")
    beam_mode = getattr(args, "beam_mode", None)
    if beam_mode and runner != "direct":
        raise SystemExit(f"--beam-mode applies to --runner direct only (got --runner {runner}); "
                         f"pass the runner's own options with --beam-arg=--OPTION=VALUE")
    for flag in ("flink_master", "flink_job_server_jar"):
        if getattr(args, flag, None) and runner != "flink":
            raise SystemExit(f"--{flag.replace('_', '-')} needs --runner flink")
    return {
        "beam_mode": beam_mode or "in_memory", "runner": runner,
        "flink_master": getattr(args, "flink_master", None) or "",
        "flink_job_server_jar": getattr(args, "flink_job_server_jar", None) or "",
        "beam_args": tuple(getattr(args, "beam_arg", None) or ()),
    }


def _tasks(args, config: RunConfig) -> Optional[list[str]]:
    from components.core.tasks import validate_tasks

    if not args.tasks:
        return None
    try:
        tasks = list(validate_tasks([t.strip() for t in args.tasks.split(",") if t.strip()]))
    except ValueError as err:
        raise SystemExit(f"--tasks: {err}") from None
    missing = [t for t in tasks if t not in config.preset.tasks]
    if missing:
        raise SystemExit(f"--tasks: preset {config.preset.name!r} runs "
                         f"{', '.join(config.preset.tasks)}, not {', '.join(missing)}")
    return tasks


def cmd_run(args) -> int:
    import contextlib

    from pipeline import local_runner, run_log

    config = _run_config(args)
    tasks = _tasks(args, config)
    # TFX's Beam executors parse sys.argv with absl flags, where `-v` is absl's verbosity:
    # mer's own options must not reach them.
    sys.argv = sys.argv[:1]
    run_dir = local_runner.new_run_dir(config)
    log = run_dir / local_runner.LOG_FILE
    shown = ", ".join(tasks or config.preset.tasks)
    print(f"mer run: {config.pipeline_name} ({shown}); "
          f"{'logs on this terminal' if args.verbose else f'log: {log}'}", flush=True)
    quiet = contextlib.nullcontext(sys.stdout) if args.verbose else run_log.redirected_to(str(log))
    user_error = ""
    with quiet as console:
        status = 0
        try:
            summary = local_runner.run(config, tasks, console=console, run_dir=run_dir,
                                       separate_lines=args.verbose)
        except local_runner.RunFailed as failure:
            summary, status = failure.summary, 1
            first = (str(failure.cause).splitlines() or [type(failure.cause).__name__])[0]
            where = "above" if args.verbose else f"in {log}"
            console.write(f"\nrun failed at {summary.failed or 'the pipeline'}: {first}\n"
                          f"(full error {where})\n")
            if isinstance(failure.cause, USER_ERRORS):
                status = USAGE_ERROR
                user_error = f"{summary.failed or 'the pipeline'}: {failure.cause}"
        console.write("\n== run summary ==\n" + "\n".join(summary.lines()) + "\n")
        if config.preset.name == "demo" and status == 0:
            _demo_prediction(config, summary, console)
    if user_error:  # after the block: stderr is the run's log inside it
        print(f"mer: error: {user_error}", file=sys.stderr)
    return status


def _demo_prediction(config: RunConfig, summary, console) -> None:
    """One prediction from raw text + WAV bytes through the pushed MER model."""

    from serving.backends.inprocess import InProcessModel

    task = "mer" if any(t.task == "mer" and t.pushed_version for t in summary.tasks) else None
    if task is None:
        console.write("no MER model served yet; skipping the demo prediction\n")
        return
    row = _held_out_row(config, summary)
    wav = (Path(config.data_root) / row["audio_path"]).read_bytes()
    model = InProcessModel(os.path.join(config.serving_dir, task))
    preds = model.predict(text=row["text"], audio=wav)
    console.write(f"\nprediction ({task} v{model.version}) on a held-out example: text "
                  f"{row['text']!r} + {row['audio_path']} (true: {row['emotion']}):\n")
    for p in preds:
        console.write(f"  {p.emotion:<10} {p.probability:.3f}\n")


def _held_out_row(config: RunConfig, summary) -> dict:
    """A manifest row from the eval split, so the demo predicts on data it did not train on."""
    import csv

    from components import artifacts

    with open(os.path.join(config.data_root, "manifest.csv")) as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    if summary.ingest_uri:
        with open(os.path.join(summary.ingest_uri, artifacts.SPLITS_FILE)) as f:
            for r in csv.DictReader(f):
                if r["split"] == "eval" and r["id"] in rows:
                    return rows[r["id"]]
    return next(iter(rows.values()))


def cmd_config_show(args) -> int:
    from pipeline import config_file

    sys.stdout.write(config_file.show(args.preset))
    return 0


def cmd_runs_list(args) -> int:
    from pipeline import runs_list

    for line in runs_list.lines(runs_list.list_runs(os.path.abspath(args.output_dir),
                                                    args.preset, args.last)):
        print(line)
    return 0


def cmd_ingest(args) -> int:
    from components import artifacts
    from components.example_gen import ingest

    config = _run_config(args)
    report = ingest.run_ingest(
        config.preset, config.data_root, examples_uri=os.path.abspath(args.out),
        beam_args=config.beam_pipeline_args(),
    )
    for line in report.summary_lines():
        print(line)
    print(f"report: {os.path.join(os.path.abspath(args.out), artifacts.REPORT_FILE)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, data_root_required=False):
        p.add_argument("--preset", choices=sorted(PRESETS),
                       help="the preset to run (or the base a --config file starts from)")
        p.add_argument("--config", metavar="FILE",
                       help="YAML or JSON run configuration: `preset:` plus any field of the "
                            "schema (see `mer config show PRESET`)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override one field, repeatable: --set train.epochs=20 "
                            "--set models.ser=cnn2d")
        p.add_argument("--data-root", required=data_root_required,
                       help="dataset folder (or manifest file); demo: generated if absent")
        p.add_argument("--output-dir", default=DEFAULT_OUTPUT,
                       help="where runs write (pipeline root, metadata, serving models)")
        p.add_argument("--runner", default="direct", choices=RUNNERS,
                       help="Beam runner of ExampleGen, StatisticsGen, Transform and Evaluator "
                            "(default: the embedded DirectRunner; see docs/scaling.md)")
        p.add_argument("--beam-mode", choices=BEAM_MODES,
                       help="DirectRunner mode (default in_memory; multi_processing: every core)")
        p.add_argument("--flink-master", metavar="HOST:PORT",
                       help="Flink REST address with --runner flink, e.g. localhost:8081")
        p.add_argument("--flink-job-server-jar", metavar="PATH",
                       help="Beam's Flink job server (default: scripts/flink_cluster.sh's for a "
                            "local master; Beam's published one otherwise)")
        p.add_argument("--beam-arg", action="append", default=[], metavar="--OPTION=VALUE",
                       help="Beam pipeline option passed through (repeatable), e.g. "
                            "--beam-arg=--project=P --beam-arg=--region=R for Dataflow")
        p.add_argument("--split", choices=SPLIT_METHODS)

    run = sub.add_parser("run", help="run the full pipeline locally")
    common(run)
    run.add_argument("--tasks", help=f"comma-separated subset of {','.join(TASKS)}")
    run.add_argument("--epochs", type=int)
    run.add_argument("--duration", metavar="SECONDS|auto",
                     help="clip length the Transform pads/trims to (default: the preset's); "
                          "auto: the length covering 95%% of the train clips")
    run.add_argument("--no-cache", action="store_true",
                     help="run every component again (default: reuse TFX's cached results)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show TensorFlow, Beam and component logs here instead of the log file")
    run.set_defaults(fn=cmd_run)

    cfg = sub.add_parser("config", help="run configuration files")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    show = cfg_sub.add_parser("show", help="print a preset as a configuration file")
    show.add_argument("preset", choices=sorted(PRESETS))
    show.set_defaults(fn=cmd_config_show)

    runs = sub.add_parser("runs", help="past pipeline runs, from ML Metadata")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    lst = runs_sub.add_parser("list", help="date, preset, tasks, accuracy, pushed version")
    lst.add_argument("--output-dir", default=DEFAULT_OUTPUT)
    lst.add_argument("--preset", help="only this preset's runs")
    lst.add_argument("--last", type=int, default=20, help="at most this many runs per preset")
    lst.set_defaults(fn=cmd_runs_list)

    ing = sub.add_parser("ingest", help="read a dataset into contract TFRecords")
    common(ing)
    ing.add_argument("--out", required=True, help="output folder for TFRecords and reports")
    ing.add_argument("-v", "--verbose", action="store_true",
                     help="show the traceback of an error, not only its message")
    ing.set_defaults(fn=cmd_ingest)

    from pipeline import serving_cli

    serving_cli.register(sub)
    from pipeline.experiments import cli as experiments_cli

    experiments_cli.register(sub)
    from pipeline import evaluate

    evaluate.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except USER_ERRORS as e:
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"mer: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as e:  # an option check's message (`raise SystemExit("...")`)
        if not isinstance(e.code, str):
            raise
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(e.code if e.code.startswith("mer: ") else f"mer: error: {e.code}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
