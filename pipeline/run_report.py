"""report.html: what one run did and how good its models are, in one self-contained page.

Per task: accuracy and UAR beside the best baseline and the last blessed model, the confusion
matrix and per-class recall (from TFMA), the training curves (the Trainer's history.png), the
gate's decision and reasons. For the data: ingestion counts and quarantine reasons, the
anomalies, and links to TFDV's statistics and anomalies pages, written beside the report.
Everything is read from ML Metadata's record of the run (`run_metadata`); figures are
embedded as PNG data, so the page opens anywhere without a server.
"""

from __future__ import annotations

import csv
import html
import json
import os
from pathlib import Path
from typing import Optional

from pipeline import run_metadata as md
from pipeline.configs import RunConfig
from pipeline.run_summary import RunSummary, TaskSummary

STATISTICS_PAGE = "statistics.html"
ANOMALIES_PAGE = "anomalies.html"
_QUARANTINE_ROWS = 20
_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left}th{background:#f3f3f3}.bad{color:#b00}.ok{color:#070}figure{display:inline-block;
margin:.5em 1em .5em 0}figcaption{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:.6em;white-space:pre-wrap}
"""


def write(path: Path, config: RunConfig, summary: RunSummary, run: md.RunRecord) -> Path:
    """Writes report.html (and the TFDV pages beside it); returns its path."""
    run_dir = path.parent
    links = _tfdv_pages(run, run_dir)
    parts = [f"<h1>mer run: {_e(run.pipeline)}</h1>",
             f"<p>run <code>{_e(run.run_id)}</code>; data <code>{_e(config.data_root)}</code>; "
             f"tasks {_e(', '.join(t.task for t in summary.tasks))}</p>",
             "<h2>Summary</h2><pre>" + _e("\n".join(summary.lines())) + "</pre>",
             _components(run), _data(run, summary, links)]
    parts += [_task(run, t, config) for t in summary.tasks]
    parts.append(_config(config))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>mer run report: "
            f"{_e(run.pipeline)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
    path.write_text(page, encoding="utf-8")
    return path


def _e(value) -> str:
    return html.escape(str(value))


def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list]) -> str:
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _components(run: md.RunRecord) -> str:
    shown = {"COMPLETE": "ran", "CACHED": "cached", "FAILED": "<b class='bad'>FAILED</b>"}
    rows = [[_e(n.node_id), shown.get(n.state, _e(n.state)), f"{n.seconds:.1f} s"]
            for n in run.nodes.values() if not n.node_id.startswith("LatestBlessedModel")]
    return "<h2>Components</h2>" + _table(["component", "status", "elapsed"], rows)


def _data(run: md.RunRecord, summary: RunSummary, links: dict[str, str]) -> str:
    out = ["<h2 id='data'>Data</h2>"]
    ing = summary.ingest
    if ing:
        classes = sorted({c for per in ing["by_split_and_class"].values() for c in per})
        rows = [[_e(split), _e(n)] + [_e(ing["by_split_and_class"].get(split, {}).get(c, 0))
                                      for c in classes]
                for split, n in sorted(ing["by_split"].items())]
        out.append(f"<p>{ing['listed']} records listed, {ing['written']} written, "
                   f"{ing['quarantined']} quarantined (split: {_e(ing['split_method'])}).</p>")
        out.append(_table(["split", "examples"] + classes, rows))
        if ing["quarantine_by_reason"]:
            out.append("<h3>Quarantine</h3>" + _table(
                ["reason", "records"],
                [[_e(k), _e(v)] for k, v in sorted(ing["quarantine_by_reason"].items())]))
            out.append(_quarantine_rows(run))
    if summary.anomalies:
        out.append("<h3 class='bad'>Anomalies that stopped the run</h3><ul>" +
                   "".join(f"<li>{_e(a)}</li>" for a in summary.anomalies) + "</ul>")
    else:
        out.append("<p class='ok'>ExampleValidator found no blocking anomaly against the data "
                   "contract's schema.</p>")
    if links:
        out.append("<p>TFDV: " + " · ".join(
            f"<a href='{_e(href)}'>{_e(name)}</a>" for name, href in links.items()) + "</p>")
    return "\n".join(out)


def _quarantine_rows(run: md.RunRecord) -> str:
    from components.artifacts import QUARANTINE_FILE

    node = run.node("EmotionExampleGen")
    report = node.output("report") if node else None
    path = os.path.join(report.uri, QUARANTINE_FILE) if report else ""
    if not path or not os.path.exists(path):
        return ""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    shown = [[_e(r["id"]), _e(r["reason"]), _e(r["detail"])] for r in rows[:_QUARANTINE_ROWS]]
    more = f"<p>… and {len(rows) - len(shown)} more in <code>{_e(path)}</code></p>" \
        if len(rows) > len(shown) else ""
    return _table(["id", "reason", "what to do"], shown) + more


def _tfdv_pages(run: md.RunRecord, run_dir: Path) -> dict[str, str]:
    """statistics.html (train vs eval) and anomalies.html, rendered by TFDV."""
    import tensorflow_data_validation as tfdv
    from tensorflow_data_validation.utils import anomalies_util, display_util

    links = {}
    stats = _artifact(run, "StatisticsGen", "statistics")
    if stats:
        by_split = {s: os.path.join(stats.uri, f"Split-{s}", "FeatureStats.pb")
                    for s in ("train", "eval")}
        if all(os.path.exists(p) for p in by_split.values()):
            page = display_util.get_statistics_html(
                tfdv.load_stats_binary(by_split["train"]), tfdv.load_stats_binary(by_split["eval"]),
                lhs_name="train", rhs_name="eval")
            (run_dir / STATISTICS_PAGE).write_text(page, encoding="utf-8")
            links["statistics (train vs eval)"] = STATISTICS_PAGE
    anomalies = _artifact(run, "ExampleValidator", "anomalies")
    if anomalies:
        pages = []
        for split in json.loads(anomalies.get("split_names") or "[]"):
            path = os.path.join(anomalies.uri, f"Split-{split}", "SchemaDiff.pb")
            if os.path.exists(path):
                frame = display_util.get_anomalies_dataframe(
                    anomalies_util.load_anomalies_binary(path))
                body = frame.to_html() if len(frame) else "<p>no anomalies</p>"
                pages.append(f"<h2>{_e(split)}</h2>{body}")
        if pages:
            (run_dir / ANOMALIES_PAGE).write_text(
                "<!DOCTYPE html><html><head><meta charset='utf-8'><title>anomalies</title></head>"
                "<body>" + "".join(pages) + "</body></html>", encoding="utf-8")
            links["anomalies"] = ANOMALIES_PAGE
    return links


def _artifact(run: md.RunRecord, node_id: str, key: str) -> Optional[md.ArtifactRecord]:
    node = run.node(node_id)
    return node.output(key) if node and node.state in ("COMPLETE", "CACHED") else None


def _task(run: md.RunRecord, t: TaskSummary, config: RunConfig) -> str:
    from pipeline import report_figures as fig
    from pipeline.tfma_confusion import confusion_matrix, per_class_recall

    out = [f"<h2 id='task-{_e(t.task)}'>{_e(t.task.upper())}</h2>"]
    if not t.ran:
        return out[0] + "<p>Not evaluated: the run stopped before this task's evaluation.</p>"
    meta = _model_meta(run, t.task)
    labels = meta.get("labels") or list(config.preset.labels)
    decision = "<b class='ok'>blessed</b>" if t.blessed else "<b class='bad'>not blessed</b>"
    last = (f"version {_e(t.last_blessed_version)} ({_pct(t.last_blessed_accuracy)})"
            if t.last_blessed_version else "none yet")
    pushed = (f"pushed version {_e(t.pushed_version)} to <code>{_e(t.serving_dir)}</code>"
              if t.pushed_this_run else f"not pushed (serving: {_e(t.pushed_version or 'none')})")
    baselines = ", ".join(f"{_e(k)} {_pct(v)}" for k, v in sorted(t.baselines.items()))
    out.append(_table([], [
        ["model", _e(meta.get("model", config.preset.train.models.get(t.task, "")))],
        ["eval accuracy", _pct(t.accuracy)], ["UAR (balanced accuracy)", _pct(t.balanced_accuracy)],
        ["best baseline", f"{_e(t.best_baseline or 'n/a')} ({_pct(t.best_baseline_accuracy)})"],
        ["all baselines", baselines or "n/a"],
        ["last blessed model", last], ["gate", decision], ["pusher", pushed]]))
    reasons = t.reasons + t.notes
    if reasons:
        out.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in reasons) + "</ul>")
    evaluation = _artifact(run, f"Evaluator.{t.task}", "evaluation")
    cm = confusion_matrix(evaluation.uri, len(labels)) if evaluation else None
    if cm is not None:
        names = labels + [f"class_{i}" for i in range(len(labels), cm.shape[0])]
        out.append(_figure(fig.confusion_png(cm, names, f"{t.task} confusion matrix"),
                           f"confusion matrix {t.task}", "confusion",
                           "rows: true emotion, columns: predicted; row-normalised"))
        out.append(_figure(fig.recall_png(per_class_recall(cm), names, t.task),
                           f"per-class recall {t.task}", "recall", "recall of each emotion"))
    curves = _history_png(run, t.task)
    if curves:
        out.append(_figure(curves, f"training curves {t.task}", "curves",
                           "loss and accuracy per epoch (the Trainer's history.png)"))
    return "\n".join(out)


def _figure(png: bytes, alt: str, kind: str, caption: str) -> str:
    from pipeline.report_figures import data_uri

    return (f"<figure class='{kind}'><img alt='{_e(alt)}' src='{data_uri(png)}'>"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _model_run(run: md.RunRecord, task: str) -> Optional[str]:
    artifact = _artifact(run, f"Trainer.{task}", "model_run")
    return artifact.uri if artifact else None


def _model_meta(run: md.RunRecord, task: str) -> dict:
    uri = _model_run(run, task)
    path = os.path.join(uri, "model.json") if uri else ""
    return json.loads(Path(path).read_text()) if path and os.path.exists(path) else {}


def _history_png(run: md.RunRecord, task: str) -> Optional[bytes]:
    uri = _model_run(run, task)
    path = os.path.join(uri, "history.png") if uri else ""
    return Path(path).read_bytes() if path and os.path.exists(path) else None


def _config(config: RunConfig) -> str:
    import yaml

    from components.core.config import to_dict

    text = yaml.safe_dump(to_dict(config.preset), sort_keys=False, default_flow_style=None)
    return ("<h2>Configuration</h2><details><summary>the preset this run used (as a "
            "<code>mer run --config</code> file body)</summary><pre>" + _e(text) +
            "</pre></details>")
