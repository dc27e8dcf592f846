"""The model study's written outputs: runs and summary CSV, the Markdown and the HTML report.

Why this exists: the study decides what is measured, :mod:`~pipeline.experiments.report_reference`
what is compared with what; this module only lays those numbers out, in the reference's table
format, as files a reviewer reads (a self-contained HTML page, images referenced relatively).
"""

from __future__ import annotations

import csv
import html
import os
from typing import Optional, Sequence

from pipeline.experiments.report_summary import pm

RUN_FIELDS = ("split", "model", "run", "seed", "fold", "n_train", "n_test", "train_accuracy",
              "test_accuracy", "balanced_accuracy", "epochs", "eval_speakers",
              "shared_speakers", "seconds")
SUMMARY_FIELDS = ("split", "model", "runs", "train_acc_mean", "train_acc_std", "test_acc_mean",
                  "test_acc_std", "balanced_acc_mean", "balanced_acc_std", "ref_model",
                  "ref_train_acc_mean", "ref_train_acc_std", "ref_test_acc_mean",
                  "ref_test_acc_std", "delta_test", "comparable", "note", "context")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def write_csv(path: str | os.PathLike, rows: Sequence[dict], fields: Sequence[str]) -> None:
    """Rows as CSV (floats with 4 decimals; None as empty)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for row in rows:
            writer.writerow([_cell(row.get(k)) for k in fields])


def _table46_lines(ours: Sequence[dict], ref: Sequence[dict]) -> list[str]:
    lines = ["| model | speaker-dependent (random 80/20) | speaker-independent | drop |",
             "|---|---|---|---|"]
    for r in ours:
        drop = "-" if r["drop"] is None else f"{r['drop']:.2f}"
        lines.append(f"| ours: {r['model']} | {pm(r['dependent'], r['dependent_std'])} | "
                     f"{pm(r['independent'], r['independent_std'])} | {drop} |")
    for r in ref:
        lines.append(f"| reference: {r['model']} | {pm(r['dependent'], r['dependent_std'])} | "
                     f"{pm(r['independent'], r['independent_std'])} | {r['drop']:.2f} |")
    return lines


def _cached(config: dict) -> str:
    return ", from cache" if config.get("cache_hit") else ""


def markdown_report(config: dict, summary: Sequence[dict], records: Sequence[dict],
                    table46: Optional[tuple[list[dict], list[dict]]]) -> str:
    """The results in the reference's table format, for docs and review."""
    out = [f"# Model study: {config['preset']} ({config['task'].upper()})", "",
           f"- data: {config['n_examples']} examples, {len(config['labels'])} classes "
           f"({', '.join(config['labels'])}) from `{config['data_root']}`",
           f"- splits: {', '.join(config['splits'])}; runs: {config['runs_desc']}; seed "
           f"{config['seed']} (run i uses seed + i - 1)",
           f"- models: {', '.join(config['models'])}; Keras: {config['keras_desc']}",
           f"- features: {config['features_desc']}",
           f"- wall time: {config['wall_seconds']:.0f} s (features "
           f"{config['feature_seconds']:.1f} s{_cached(config)})",
           "- accuracies in %, mean ± std (population std) over runs; reference: "
           "../shared/reference/thesis-results.csv, compared only when dataset, task, model and "
           "protocol match", "",
           "## Results", "",
           "| split | model | runs | train acc. | test acc. | balanced acc. | reference train | "
           "reference test | Δ test | note |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary:
        delta = "" if r["delta_test"] is None else f"{r['delta_test']:+.2f}"
        out.append(f"| {r['split']} | {r['model']} | {r['runs']} | "
                   f"{pm(r['train_acc_mean'], r['train_acc_std'])} | "
                   f"{pm(r['test_acc_mean'], r['test_acc_std'])} | "
                   f"{pm(r['balanced_acc_mean'], r['balanced_acc_std'])} | "
                   f"{pm(r['ref_train_acc_mean'], r['ref_train_acc_std'])} | "
                   f"{pm(r['ref_test_acc_mean'], r['ref_test_acc_std'])} | {delta} | "
                   f"{r['note']}{'; context: ' + r['context'] if r['context'] else ''} |")
    out.append("")
    if table46 is not None:
        intro = ("The reference measured this for TRILL and YAMNet only; compare the size of "
                 "the drop, not the models." if table46[1]
                 else "The reference has no such comparison for this dataset; ours only.")
        out += ["## Speaker-dependent vs speaker-independent (reference Table 4.6)", "",
                f"Test accuracy (%). {intro}", ""]
        out += _table46_lines(*table46)
        out.append("")
    out += ["## Runs", "",
            "| split | model | run | seed | fold | n train | n test | train acc. | test acc. | "
            "balanced acc. | epochs | shared speakers | s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        out.append(f"| {r['split']} | {r['model']} | {r['run']} | {r['seed']} | {r['fold']} | "
                   f"{r['n_train']} | {r['n_test']} | {r['train_accuracy']:.2f} | "
                   f"{r['test_accuracy']:.2f} | {r['balanced_accuracy']:.2f} | {r['epochs']} | "
                   f"{r['shared_speakers']} | {r['seconds']:.1f} |")
    out.append("")
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;
color:#222;max-width:1400px}
table{border-collapse:collapse;margin:8px 0 16px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px;white-space:nowrap}
td.l{white-space:normal}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.caveat{background:#fff7e0;border-left:4px solid #e0a800;padding:8px 12px;margin:12px 0}
.row{display:grid;grid-template-columns:minmax(0,1fr) 300px;gap:16px;align-items:start}
.figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.figs figure{margin:0}.figs img{width:340px;border:1px solid #ddd}
.figs img.wide{width:560px}
.ref{background:#f7f9fc;border:1px solid #d6e0ef;padding:8px 12px;font-size:13px}
.ok{color:#1a7f37}.no{color:#9a6700}
figcaption{font-size:12px;color:#555}
"""


def _e(v) -> str:
    return html.escape(str(v))


def _ref_box(r: dict) -> str:
    if r["comparable"]:
        delta = r["delta_test"]
        return (f"<div class='ref'><b>Reference ({_e(r['ref_model'])})</b><br>"
                f"train {_e(pm(r['ref_train_acc_mean'], r['ref_train_acc_std']))}<br>"
                f"test {_e(pm(r['ref_test_acc_mean'], r['ref_test_acc_std']))}<br>"
                f"ours: test {_e(pm(r['test_acc_mean'], r['test_acc_std']))} "
                f"(Δ {delta:+.2f})<br><span class='ok'>{_e(r['note'])}</span>"
                f"<br><i>The reference published numbers, not confusion matrices or "
                f"curves.</i></div>")
    context = f"<br>Reference, for context only: {_e(r['context'])}" if r["context"] else ""
    return (f"<div class='ref'><b>Reference</b><br><span class='no'>{_e(r['note'])}</span>"
            f"{context}</div>")


def html_report(config: dict, summary: Sequence[dict], records: Sequence[dict],
                figures: dict[tuple[str, str], dict[str, str]],
                table46: Optional[tuple[list[dict], list[dict]]],
                caveats: Sequence[str] = ()) -> str:
    """A self-contained page (inline CSS, images referenced relative to the page)."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>Model study: {_e(config['preset'])}</title><style>{_CSS}</style>",
             "</head><body>",
             f"<h1>Model study: {_e(config['preset'])} ({_e(config['task'].upper())})</h1>",
             "<ul>",
             f"<li>data: {config['n_examples']} examples, {len(config['labels'])} classes "
             f"({_e(', '.join(config['labels']))}) from "
             f"<code>{_e(config['data_root'])}</code></li>",
             f"<li>splits: {_e(', '.join(config['splits']))}; runs: {_e(config['runs_desc'])}; "
             f"seed {config['seed']}</li>",
             f"<li>models: {_e(', '.join(config['models']))}; "
             f"Keras: {_e(config['keras_desc'])}</li>",
             f"<li>features: {_e(config['features_desc'])}</li>",
             f"<li>wall time: {config['wall_seconds']:.0f} s (features "
             f"{config['feature_seconds']:.1f} s{_cached(config)})</li>",
             f"<li>command: <code>{_e(config.get('command', ''))}</code></li></ul>"]
    for c in caveats:
        parts.append(f"<div class='caveat'>{_e(c)}</div>")
    parts.append("<h2>Results</h2><p>Accuracies in %, mean ± std over runs (population std). "
                 "The reference's numbers are shown beside ours only when dataset, task, model "
                 "and split protocol match.</p>")
    parts.append("<table><tr><th class='l'>split</th><th class='l'>model</th><th>runs</th>"
                 "<th>train acc.</th><th>test acc.</th><th>balanced acc.</th>"
                 "<th>reference train</th><th>reference test</th><th>Δ test</th>"
                 "<th class='l'>note</th></tr>")
    for r in summary:
        delta = "" if r["delta_test"] is None else f"{r['delta_test']:+.2f}"
        parts.append(
            f"<tr><td class='l'>{_e(r['split'])}</td><td class='l'>{_e(r['model'])}</td>"
            f"<td>{r['runs']}</td><td>{_e(pm(r['train_acc_mean'], r['train_acc_std']))}</td>"
            f"<td><b>{_e(pm(r['test_acc_mean'], r['test_acc_std']))}</b></td>"
            f"<td>{_e(pm(r['balanced_acc_mean'], r['balanced_acc_std']))}</td>"
            f"<td>{_e(pm(r['ref_train_acc_mean'], r['ref_train_acc_std']))}</td>"
            f"<td>{_e(pm(r['ref_test_acc_mean'], r['ref_test_acc_std']))}</td><td>{delta}</td>"
            f"<td class='l {'ok' if r['comparable'] else 'no'}'>{_e(r['note'])}</td></tr>")
    parts.append("</table>")
    if table46 is not None:
        ours, ref = table46
        intro = ("The reference measured this for TRILL and YAMNet only, so the comparison is "
                 "about the size of the drop on new speakers, not about the models." if ref
                 else "The reference has no such comparison for this dataset; ours only.")
        parts.append("<h2>Speaker-dependent vs speaker-independent (reference Table 4.6)</h2>"
                     f"<p>Test accuracy (%). {intro}</p><table><tr><th class='l'>model</th>"
                     "<th>speaker-dependent</th><th>speaker-independent</th><th>drop</th></tr>")
        for who, rows in (("ours", ours), ("reference", ref)):
            for r in rows:
                drop = "-" if r["drop"] is None else f"{r['drop']:.2f}"
                parts.append(f"<tr><td class='l'>{who}: {_e(r['model'])}</td>"
                             f"<td>{_e(pm(r['dependent'], r['dependent_std']))}</td>"
                             f"<td>{_e(pm(r['independent'], r['independent_std']))}</td>"
                             f"<td>{drop}</td></tr>")
        parts.append("</table>")
        if any(r["dependent"] is None or r["independent"] is None for r in ours):
            parts.append("<p>Run both protocols (<code>--split random,speaker</code>) to fill "
                         "in our side.</p>")
    parts.append("<h2>Per model</h2>")
    for r in summary:
        figs = figures.get((r["split"], r["model"]), {})
        parts.append(f"<h3>{_e(r['split'])} · {_e(r['model'])}: test "
                     f"{_e(pm(r['test_acc_mean'], r['test_acc_std']))} %, train "
                     f"{_e(pm(r['train_acc_mean'], r['train_acc_std']))} %</h3>"
                     f"<div class='row'><div class='figs'>")
        for key, caption in (("cm_raw", "confusion matrix, counts summed over runs"),
                             ("cm_norm", "confusion matrix, row-normalised (recall)"),
                             ("curves_png", "training curves")):
            if key in figs:
                wide = " class='wide'" if key == "curves_png" else ""
                parts.append(f"<figure><a href='{_e(figs[key])}'><img src='{_e(figs[key])}'"
                             f"{wide} alt='{_e(caption)}'></a>"
                             f"<figcaption>{_e(caption)}</figcaption></figure>")
        parts.append("</div>" + _ref_box(r) + "</div>")
        mine = [x for x in records if x["split"] == r["split"] and x["model"] == r["model"]]
        parts.append("<table><tr><th>run</th><th>seed</th><th>fold</th><th>n train</th>"
                     "<th>n test</th><th>train acc.</th><th>test acc.</th><th>balanced acc.</th>"
                     "<th>epochs</th><th>shared speakers</th><th>s</th>"
                     "<th class='l'>held-out speakers</th></tr>")
        for x in mine:
            parts.append(f"<tr><td>{x['run']}</td><td>{x['seed']}</td><td>{_e(x['fold'])}</td>"
                         f"<td>{x['n_train']}</td><td>{x['n_test']}</td>"
                         f"<td>{x['train_accuracy']:.2f}</td><td>{x['test_accuracy']:.2f}</td>"
                         f"<td>{x['balanced_accuracy']:.2f}</td><td>{x['epochs']}</td>"
                         f"<td>{x['shared_speakers']}</td><td>{x['seconds']:.1f}</td>"
                         f"<td class='l'>{_e(x['eval_speakers'])}</td></tr>")
        parts.append("</table>")
        links = [f"<a href='{_e(v)}'>{_e(k)}</a>" for k, v in figs.items() if v.endswith(".csv")]
        if links:
            parts.append("<p>data: " + ", ".join(links) + "</p>")
    parts.append("<h2>Files</h2><ul>"
                 "<li><a href='runs.csv'>runs.csv</a>: one row per (split, model, run)</li>"
                 "<li><a href='summary.csv'>summary.csv</a>: mean ± std and the reference</li>"
                 "<li><a href='results.md'>results.md</a>: the same as Markdown</li>"
                 "<li><a href='splits.csv'>splits.csv</a>: which example was train/test in each "
                 "run</li></ul></body></html>")
    return "\n".join(parts)
