"""Runs create_pipeline() with TFX's LocalDagRunner on the local Beam runner."""

from __future__ import annotations

import dataclasses
import glob
import os
import time
from typing import Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tfx import v1 as tfx  # noqa: E402

from pipeline import pipeline as pipeline_def  # noqa: E402
from pipeline.configs import RunConfig  # noqa: E402


def default_data_root(config_output_dir: str, preset_name: str) -> str:
    return os.path.join(config_output_dir, "data", preset_name)


def prepare_data(config: RunConfig) -> RunConfig:
    """The demo preset generates its corpus (deterministic, idempotent) if needed."""
    if config.preset.name == "demo":
        from pipeline import demo_corpus

        demo_corpus.generate(config.data_root)
    return config


def run(config: RunConfig, tasks: Optional[Sequence[str]] = None) -> RunSummary:
    prepare_data(config)
    started = time.time()
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    p = pipeline_def.create_pipeline(
        config,
        tasks=tasks,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path),
    )
    tfx.orchestration.LocalDagRunner().run(p)
    return summarize(config, tasks or config.preset.tasks, started)


@dataclasses.dataclass
class TaskSummary:
    task: str
    accuracy: Optional[float]
    blessed: bool
    reasons: list[str]
    best_baseline: Optional[str]
    best_baseline_accuracy: Optional[float]
    pushed_version: Optional[str]
    pushed_this_run: bool
    serving_dir: str
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. blessed within a margin


@dataclasses.dataclass
class RunSummary:
    tasks: list[TaskSummary]
    ingest: dict
    auto_duration_s: Optional[float] = None  # the clip length `duration_s: auto` chose

    def lines(self) -> list[str]:
        out = []
        ing = self.ingest
        if self.auto_duration_s is not None:
            out.append(f"transform: duration_s auto chose {self.auto_duration_s:.2f} s clips")
        if ing:
            out.append(
                f"ingest: {ing['written']} examples written "
                f"({', '.join(f'{k}={v}' for k, v in sorted(ing['by_split'].items()))}), "
                f"{ing['quarantined']} quarantined {ing['quarantine_by_reason'] or ''}".rstrip())
        for t in self.tasks:
            acc = "n/a" if t.accuracy is None else f"{100 * t.accuracy:.1f}%"
            state = "blessed" if t.blessed else "NOT blessed (" + "; ".join(t.reasons) + ")"
            if t.blessed and t.notes:
                state += " (" + "; ".join(t.notes) + ")"
            if t.best_baseline:
                acc += f" (best baseline {t.best_baseline}: {100 * t.best_baseline_accuracy:.1f}%)"
            if t.pushed_this_run:
                push = f"pushed version {t.pushed_version} to {t.serving_dir}"
            elif t.pushed_version:
                push = f"not pushed; serving stays at version {t.pushed_version}"
            else:
                push = "not pushed; nothing served yet"
            out.append(f"{t.task}: eval accuracy {acc}, {state}, {push}")
        return out


def latest_output(pipeline_root: str, component: str, key: str) -> Optional[str]:
    """TFX 1.x lays outputs out as <root>/<component>/<key>/<execution id>."""
    dirs = glob.glob(os.path.join(pipeline_root, component, key, "*"))
    dirs = [d for d in dirs if os.path.basename(d).isdigit()]
    return max(dirs, key=lambda d: int(os.path.basename(d))) if dirs else None


def summarize(config: RunConfig, tasks: Sequence[str], started: float) -> RunSummary:
    from components.artifacts import read_ingest_report, read_verdict
    from components.gate.tfma_results import overall_metric

    root = config.pipeline_root
    report_dir = latest_output(root, "EmotionExampleGen", "report")
    ing = read_ingest_report(report_dir) if report_dir else {}
    out = []
    for task in tasks:
        eval_dir = latest_output(root, pipeline_def.component_id("Evaluator", task), "evaluation")
        bless_dir = latest_output(root, pipeline_def.component_id("Gate", task), "blessing")
        verdict = read_verdict(bless_dir) if bless_dir else {}
        serving = os.path.join(config.serving_dir, task)
        versions = sorted(
            (d for d in os.listdir(serving) if d.isdigit()), key=int
        ) if os.path.isdir(serving) else []
        newest = versions[-1] if versions else None
        this_run = bool(newest) and os.path.getmtime(os.path.join(serving, newest)) >= started
        out.append(TaskSummary(
            task=task, accuracy=overall_metric(eval_dir) if eval_dir else None,
            blessed=bool(verdict.get("blessed")), reasons=verdict.get("reasons", []),
            best_baseline=verdict.get("best_baseline"),
            best_baseline_accuracy=verdict.get("best_baseline_accuracy"),
            pushed_version=newest, pushed_this_run=this_run,
            serving_dir=serving, notes=verdict.get("notes", []),
        ))
    return RunSummary(tasks=out, ingest=ing, auto_duration_s=_auto_duration(config))


def _auto_duration(config: RunConfig) -> Optional[float]:
    if not config.preset.features.auto_duration:
        return None
    import tensorflow_transform as tft

    from components.transform.preprocessing import auto_duration_s

    graph_dir = latest_output(config.pipeline_root, "Transform", "transform_graph")
    return auto_duration_s(tft.TFTransformOutput(graph_dir)) if graph_dir else None
