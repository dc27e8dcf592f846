"""The run summary: what a run did, per task, read from ML Metadata.

Each fact comes from where a component recorded it: the ingestion counts from the
IngestReport artifact, the accuracy and UAR from the Evaluator's TFMA output, the decision and
its reasons from the Gate's verdict, what was pushed from the Pusher's `pushed` and
`pushed_version` properties, and anomalies from ExampleValidator's output.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

from pipeline import run_metadata as md


@dataclasses.dataclass
class TaskSummary:
    task: str
    accuracy: Optional[float]
    blessed: bool
    reasons: list[str]
    best_baseline: Optional[str]
    best_baseline_accuracy: Optional[float]
    pushed_version: Optional[str]  # the version serving has now (this run's or an earlier one)
    pushed_this_run: bool
    serving_dir: str
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. blessed within a margin
    balanced_accuracy: Optional[float] = None  # UAR
    last_blessed_version: Optional[str] = None  # pushed before this run
    last_blessed_accuracy: Optional[float] = None
    ran: bool = True  # False: the run stopped before this task's evaluation
    baselines: dict[str, float] = dataclasses.field(default_factory=dict)  # name -> accuracy
    inferred: Optional[str] = None  # what the BulkInferrer scored (`mer run --infer-root`)


@dataclasses.dataclass
class RunSummary:
    tasks: list[TaskSummary]
    ingest: dict
    auto_duration_s: Optional[float] = None  # the clip length `duration_s: auto` chose
    anomalies: list[str] = dataclasses.field(default_factory=list)  # blocking ones
    failed: Optional[str] = None  # the node that failed, if the run stopped
    run_id: str = ""
    report_path: str = ""
    ingest_uri: str = ""  # the IngestReport artifact (splits.csv, quarantine.csv)

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
            if ing.get("labels_inferred"):
                out.append("ingest: classes inferred from the data: " + ", ".join(
                    f"{k}={v}" for k, v in sorted(ing.get("classes", {}).items())))
            out += [f"ingest warning: {w}" for w in ing.get("warnings", [])]
        if self.anomalies:
            out.append("data: ExampleValidator found anomalies, so the run stopped before "
                       "training:")
            out += [f"  {a}" for a in self.anomalies]
        elif self.failed:
            out.append(f"run stopped: {self.failed} failed (see the log)")
        for t in self.tasks:
            out.append(_task_line(t))
        if self.report_path:
            out.append(f"report: {self.report_path}")
        return out


def _task_line(t: TaskSummary) -> str:
    if not t.ran:
        return f"{t.task}: not evaluated (the run stopped before)"
    acc = "n/a" if t.accuracy is None else f"{100 * t.accuracy:.1f}%"
    if t.balanced_accuracy is not None:
        acc += f", UAR {100 * t.balanced_accuracy:.1f}%"
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
    line = f"{t.task}: eval accuracy {acc}, {state}, {push}"
    return f"{line}\n{t.task}: {t.inferred}" if t.inferred else line


def summarize(store, run: md.RunRecord, tasks: Sequence[str], serving_dir: str,
              auto_duration: bool = False) -> RunSummary:
    """The summary of `run` (read with `run_metadata.read_run`)."""
    from components.artifacts import read_ingest_report

    report = _output(run, "EmotionExampleGen", "report")
    failed = [n.node_id for n in run.nodes.values() if n.state == "FAILED"]
    return RunSummary(
        tasks=[_task(store, run, t, serving_dir) for t in tasks],
        ingest=read_ingest_report(report.uri) if report else {},
        auto_duration_s=_auto_duration(run) if auto_duration else None,
        anomalies=blocking_anomalies(run), failed=failed[0] if failed else None,
        run_id=run.run_id, ingest_uri=report.uri if report else "")


def _output(run: md.RunRecord, node_id: str, key: str) -> Optional[md.ArtifactRecord]:
    node = run.node(node_id)
    return node.output(key) if node and node.state in ("COMPLETE", "CACHED") else None


def _task(store, run: md.RunRecord, task: str, serving_dir: str) -> TaskSummary:
    from components.artifacts import read_verdict
    from components.gate.tfma_results import overall_metric

    evaluation = _output(run, f"Evaluator.{task}", "evaluation")
    blessing = _output(run, f"Gate.{task}", "blessing")
    verdict = read_verdict(blessing.uri) if blessing else {}
    pushed = _output(run, f"Pusher.{task}", "pushed_model")
    pusher = run.node(f"Pusher.{task}")
    this_run = bool(pushed and pushed.get("pushed") and pusher.state == "COMPLETE")
    earlier = last_pushed(store, run, task)
    return TaskSummary(
        task=task, ran=evaluation is not None,
        accuracy=overall_metric(evaluation.uri) if evaluation else None,
        balanced_accuracy=_uar(evaluation.uri) if evaluation else None,
        blessed=bool(verdict.get("blessed")), reasons=verdict.get("reasons", []),
        best_baseline=verdict.get("best_baseline"),
        best_baseline_accuracy=verdict.get("best_baseline_accuracy"),
        pushed_version=pushed.get("pushed_version") if this_run else (
            earlier[0] if earlier else None),
        pushed_this_run=this_run, serving_dir=os.path.join(serving_dir, task),
        notes=verdict.get("notes", []),
        last_blessed_version=earlier[0] if earlier else None,
        last_blessed_accuracy=earlier[1] if earlier else None,
        baselines=verdict.get("baselines", {}),
        inferred=_inferred(_output(run, f"BulkInferrer.{task}", "inference_result")),
    )


def _inferred(result: Optional[md.ArtifactRecord]) -> Optional[str]:
    """The BulkInferrer's line: what it scored with which version, and where it wrote."""
    if result is None:
        return None
    if not result.get("inferred"):
        return "infer root not scored (no version was pushed)"
    return (f"scored {result.get('scored')} recordings with version "
            f"{result.get('model_version')} ({result.get('quarantined')} quarantined): "
            f"{result.uri}")


def _uar(eval_uri: str) -> Optional[float]:
    from components.core.metrics import uar
    from pipeline.tfma_confusion import confusion_matrix

    cm = confusion_matrix(eval_uri)
    return uar(cm) if cm is not None else None


def last_pushed(store, run: md.RunRecord, task: str) -> Optional[tuple[str, Optional[float]]]:
    """(version, accuracy) of the newest model pushed before `run`, or None."""
    from components.artifacts import read_verdict

    earlier = [r for r, created in md.run_ids(store) if created < run.created_ms]
    for run_id in reversed(earlier):
        old = md.read_run(store, run_id)
        pusher = old.node(f"Pusher.{task}")
        pushed = pusher.output("pushed_model") if pusher else None
        if pusher and pusher.state == "COMPLETE" and pushed and pushed.get("pushed"):
            blessing = _output(old, f"Gate.{task}", "blessing")
            accuracy = read_verdict(blessing.uri).get("accuracy") if blessing else None
            return str(pushed.get("pushed_version")), accuracy
    return None


def blocking_anomalies(run: md.RunRecord) -> list[str]:
    """ExampleValidator's blocking anomalies, one line each (empty when the data passed)."""
    anomalies = _output(run, "ExampleValidator", "anomalies")
    if anomalies is None:
        return []
    from components.data_gate.anomalies import read_anomalies

    split_names = anomalies.get("split_names") or '["train", "eval"]'
    return [a.line() for a in read_anomalies(anomalies.uri, split_names) if a.blocking]


def _auto_duration(run: md.RunRecord) -> Optional[float]:
    graph = _output(run, "Transform", "transform_graph")
    if graph is None:
        return None
    import tensorflow_transform as tft

    from components.transform.preprocessing import auto_duration_s

    return auto_duration_s(tft.TFTransformOutput(graph.uri))
