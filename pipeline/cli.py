"""`mer`: the command line for running, ingesting and predicting."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

import components.core.tf_env  # noqa: F401 - first: TensorFlow's environment, before any TF
from components.core import errors
from components.core.config import SPLIT_METHODS
from components.core.tasks import TASKS
from pipeline import cli_config, cli_errors
from pipeline.beam_args import BEAM_MODES, RUNNERS
from pipeline.configs import DEFAULT_OUTPUT_DIR, PRESETS, RunConfig

DEFAULT_OUTPUT = str(DEFAULT_OUTPUT_DIR)
# The exit status of an error the user can fix (defined in components/core/errors.py).
USAGE_ERROR = errors.USER_ERROR_EXIT


def cmd_run(args) -> int:
    import contextlib
    import traceback

    from pipeline import local_runner, run_log

    run_file = cli_config.load(args)
    config = cli_config.run_config(args, run_file)
    tasks = cli_config.tasks(args, config)
    # TFX's Beam executors parse sys.argv with absl flags, where `-v` is absl's verbosity:
    # mer's own options must not reach them.
    sys.argv = sys.argv[:1]
    run_dir = local_runner.new_run_dir(config)
    log = run_dir / local_runner.LOG_FILE
    shown = ", ".join(tasks or config.preset.tasks)
    print(f"mer run: {config.pipeline_name} ({shown}); "
          f"{'logs on this terminal' if args.verbose else f'log: {log}'}", flush=True)
    for note in run_file.notes:  # what each convenience flag set, and what it replaced
        print(f"configuration: {note}", flush=True)
    quiet = contextlib.nullcontext(sys.stdout) if args.verbose else run_log.redirected_to(str(log))
    ending = ""
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
            status = errors.exit_code(failure.cause)
            ending = (f"mer: error: {summary.failed or 'the pipeline'}: {failure.cause}"
                      if errors.is_user_error(failure.cause) else
                      cli_errors.bug_line(failure.cause, str(log), args.verbose))
        except errors.MerError:
            raise
        except Exception as e:  # noqa: BLE001 - a bug outside the components: same report
            traceback.print_exc()  # into the run's log (the terminal with -v)
            summary, status = None, errors.BUG_EXIT
            ending = cli_errors.bug_line(e, str(log), args.verbose)
        if summary is not None:
            console.write("\n== run summary ==\n" + "\n".join(summary.lines()) + "\n")
        if config.preset.name == "demo" and status == 0:
            _demo_prediction(config, summary, console)
    if ending:  # after the block: stderr is the run's log inside it
        print(ending, file=sys.stderr)
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

    if args.resolved:
        run_file = cli_config.load(args)
        output_dir = os.path.abspath(args.output_dir)
        root = cli_config.data_root(args, run_file, output_dir, required=False)
        import dataclasses

        sys.stdout.write(config_file.show_resolved(dataclasses.replace(run_file, data_root=root)))
        return 0
    if not args.name:
        raise errors.UsageError("`mer config show PRESET` prints a preset as a file; "
                                "`mer config show --resolved --preset/--config ...` the "
                                "effective configuration")
    sys.stdout.write(config_file.show(args.name))
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

    config = cli_config.run_config(args)
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
        cli_config.add_arguments(p)
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
        p.add_argument("--split", choices=SPLIT_METHODS,
                       help="shorthand for --set split.method=METHOD (wins over --config/--set)")

    run = sub.add_parser("run", help="run the full pipeline locally")
    common(run)
    run.add_argument("--tasks", help=f"comma-separated subset of {','.join(TASKS)}")
    run.add_argument("--epochs", type=int,
                     help="shorthand for --set train.epochs=N (wins over --config/--set)")
    run.add_argument("--duration", metavar="SECONDS|auto",
                     help="shorthand for --set features.duration_s=...: clip length the "
                          "Transform pads/trims to; auto: the length covering 95%% of the "
                          "train clips (wins over --config/--set)")
    run.add_argument("--infer-root", metavar="DIR|MANIFEST",
                     help="once the SER model is pushed, score these recordings with it (the "
                          "preset's reader; what `mer infer` writes, in the run's "
                          "BulkInferrer.ser output)")
    run.add_argument("--infer-timeline", action="store_true",
                     help="with --infer-root: score each recording window by window")
    run.add_argument("--no-cache", action="store_true",
                     help="run every component again (default: reuse TFX's cached results)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show TensorFlow, Beam and component logs here instead of the log file")
    run.set_defaults(fn=cmd_run)

    cfg = sub.add_parser("config", help="run configuration files")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    show = cfg_sub.add_parser("show", help="print a preset as a configuration file, or with "
                                           "--resolved the effective configuration")
    show.add_argument("name", nargs="?", choices=sorted(PRESETS), metavar="PRESET",
                      help=f"the preset to print as a file: {', '.join(sorted(PRESETS))}")
    show.add_argument("--resolved", action="store_true",
                      help="print the configuration --preset/--config/--set/--epochs/--split/"
                           "--duration/--data-root give, with where each value came from")
    common(show)
    show.add_argument("--epochs", type=int, help="as `mer run --epochs`")
    show.add_argument("--duration", metavar="SECONDS|auto", help="as `mer run --duration`")
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
    from pipeline import infer_cli

    infer_cli.register(sub)
    for name in cli_errors.TF_COMMANDS:  # the commands registered by their own modules
        sub.choices[name].add_argument(
            "-v", "--verbose", action="store_true",
            help=f"show TensorFlow's and the libraries' output and an error's traceback here "
                 f"(default: in {cli_errors.LOG_DIR}/mer-{name}.log)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return cli_errors.run_command(args)


if __name__ == "__main__":
    sys.exit(main())
