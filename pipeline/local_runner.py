"""Runs create_pipeline() with TFX's LocalDagRunner on the local Beam runner.

A run gets a folder of its own, `<output_dir>/runs/<pipeline>/<time>/`, holding its log
(everything TensorFlow, Beam and the components print, when the CLI keeps the terminal quiet)
and its report. TensorFlow is imported only inside `run`, so a caller can send its start-up
noise to that log first.
"""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, TextIO

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

from pipeline.configs import RunConfig  # noqa: E402

if TYPE_CHECKING:
    from pipeline.run_summary import RunSummary

LOG_FILE = "run.log"
REPORT_FILE = "report.html"


class RunFailed(RuntimeError):
    """A component failed; `summary` says what the run did up to there."""

    def __init__(self, summary: RunSummary, cause: BaseException):
        super().__init__(f"{summary.failed or 'the pipeline'} failed: {cause}")
        self.summary = summary
        self.cause = cause


def default_data_root(config_output_dir: str, preset_name: str) -> str:
    return os.path.join(config_output_dir, "data", preset_name)


def prepare_data(config: RunConfig) -> RunConfig:
    """The demo preset generates its corpus (deterministic, idempotent) if needed."""
    if config.preset.name == "demo":
        from pipeline import demo_corpus

        demo_corpus.generate(config.data_root)
    return config


def new_run_dir(config: RunConfig) -> Path:
    """`<output_dir>/runs/<pipeline>/<local time>/` (a suffix keeps same-second runs apart)."""
    base = Path(config.output_dir) / "runs" / config.pipeline_name
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = base / stamp, 1
    while path.exists():
        n += 1
        path = base / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def run_prefix(config: RunConfig, to_node: str = "Transform"):
    """The pipeline up to `to_node` and nothing after (TFX's partial run), on the config's
    runner, quietly: how the Flink tests and the scaling benchmarks run the Beam stages alone.
    Returns the TFX pipeline that ran (its components' properties, for callers that rerun one)."""
    from tfx import v1 as tfx
    from tfx.orchestration import pipeline as tfx_pipeline

    from pipeline import pipeline as pipeline_def

    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    p = pipeline_def.create_pipeline(
        config, metadata_connection_config=tfx.orchestration.metadata
        .sqlite_metadata_connection_config(config.metadata_path))
    tfx.orchestration.LocalDagRunner().run(
        p, run_options=tfx_pipeline.RunOptions(to_nodes=[to_node]))
    return p


def run(config: RunConfig, tasks: Optional[Sequence[str]] = None, *,
        console: Optional[TextIO] = None, run_dir: Optional[Path] = None,
        separate_lines: bool = False) -> RunSummary:
    """Runs the pipeline, showing one line per component on `console` (default stdout), and
    writes the report into `run_dir` (default: a new one). Raises RunFailed when a component
    fails, after writing the report of what ran."""
    from tfx import v1 as tfx
    from tfx.dsl.compiler import compiler

    from pipeline import pipeline as pipeline_def
    from pipeline import progress

    console = console or sys.stdout
    run_dir = run_dir or new_run_dir(config)
    tasks = list(tasks or config.preset.tasks)
    prepare_data(config)
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    p = pipeline_def.create_pipeline(
        config,
        tasks=tasks,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path),
    )
    ir = compiler.Compiler().compile(p)
    lines = progress.ComponentLines(console, len(progress.shown_nodes(ir)),
                                    separate_lines=separate_lines)
    error: Optional[BaseException] = None
    with progress.reporting_launches(lines):
        try:
            tfx.orchestration.LocalDagRunner().run_with_ir(ir)
        except Exception as e:  # noqa: BLE001 - reported with the summary, then raised
            traceback.print_exc()  # to the run's log when the CLI keeps the terminal quiet
            error = e
            if config.runner == "flink":  # a JVM stack said as the MER_FLINK_* knob to raise
                from pipeline import flink_errors

                explained = flink_errors.explain(e)
                if explained is not None:
                    explained.__cause__ = e
                    error = explained
    try:
        summary = summary_of(config, tasks, lines.run_id)
    except Exception:
        if error is not None:  # nothing recorded to summarise: the failure itself is the news
            raise error from None
        raise
    try:
        summary.report_path = str(write_report(config, summary, run_dir))
    except Exception:  # noqa: BLE001 - a report that cannot be drawn must not hide the run
        traceback.print_exc()
        summary.report_path = ""
    if error is not None:
        raise RunFailed(summary, error) from error
    return summary


def summary_of(config: RunConfig, tasks: Optional[Sequence[str]] = None,
               run_id: Optional[str] = None) -> RunSummary:
    """The summary of a run (default: the newest) of `config`'s pipeline, from ML Metadata."""
    from pipeline import run_metadata, run_summary

    store = run_metadata.open_store(config.metadata_path)
    record = run_metadata.read_run(store, run_id)
    return run_summary.summarize(store, record, list(tasks or config.preset.tasks),
                                 config.serving_dir, config.preset.features.auto_duration)


def write_report(config: RunConfig, summary: RunSummary, run_dir: Path) -> Path:
    from pipeline import run_metadata, run_report

    store = run_metadata.open_store(config.metadata_path)
    record = run_metadata.read_run(store, summary.run_id or None)
    return run_report.write(run_dir / REPORT_FILE, config, summary, record)
