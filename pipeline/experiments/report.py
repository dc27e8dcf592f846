"""Reference-table lookup and the written outputs (CSV, Markdown, HTML, PNG) of the model study.

Why separate from :mod:`pipeline.experiments.model_study`: the study decides *what* is measured;
this module decides *how it is compared and shown*. Keeping the comparison rules here (which of
the reference's rows is comparable with which of our runs) makes them one readable place, since
they are the part most likely to be argued about: a number beside the reference's is a claim
that the two were measured the same way, so a row is only compared when the dataset, the task,
the model and the split protocol all match, and otherwise the report says why it is not.

The reference's results are ``../shared/reference/thesis-results.csv`` (accuracies in %, columns
task, dataset, model, train_acc_mean, train_acc_std, test_acc_mean, test_acc_std, protocol).
"""

from __future__ import annotations

import csv
import dataclasses
import html
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from pipeline.configs import REFERENCE_RESULTS

REFERENCE_CSV = REFERENCE_RESULTS

#: Our preset name -> the reference's dataset name.
REFERENCE_DATASETS: dict[str, str] = {
    "ravdess": "RAVDESS-8",
    "psychexp": "PsychExp-7",
    "iemocap": "IEMOCAP-4",
}

#: Our single-task model names -> the reference's (TER baselines carry " (TFIDF)" there).
REFERENCE_MODELS: dict[str, str] = {
    "linsvm": "LinSVM", "rf": "RF", "mnb": "MNB", "lr": "LR",
    "cnn1d": "1D CNN", "cnn2d": "2D CNN",
    "trill_lstm": "TRILL", "trill": "TRILL", "yamnet_lstm": "YAMNet", "yamnet": "YAMNet",
    "bert_bilstm": "BERT", "bert": "BERT", "electra_dense": "Electra small",
}
#: Each side of an early-fusion name ``TEXT+AUDIO`` -> the reference's words for it.
_FUSION_PARTS: dict[str, str] = {
    "bert": "BERT", "bert_bilstm": "BERT", "electra": "Electra", "electra_dense": "Electra",
    "cnn1d": "1D CNN", "cnn2d": "2D CNN", "trill": "TRILL", "trill_lstm": "TRILL",
    "yamnet": "YAMNet", "yamnet_lstm": "YAMNet",
}

#: Our split methods, as the reference would describe them.
PROTOCOL_WORDS: dict[str, str] = {
    "random": "speaker-dependent stratified random 80/20",
    "speaker": "speaker-independent 80/20 (held-out speakers)",
    "loso": "leave-one-speaker-out",
    "kfold": "stratified k-fold",
}


@dataclasses.dataclass(frozen=True)
class ReferenceRow:
    """One row of the reference's results; accuracies in %, None where the reference gave none."""

    task: str
    dataset: str
    model: str
    train_mean: Optional[float]
    train_std: Optional[float]
    test_mean: Optional[float]
    test_std: Optional[float]
    protocol: str

    @property
    def split(self) -> str:
        """The reference's protocol in our split vocabulary: "speaker" or "random"."""
        text = f"{self.model} {self.protocol}".lower()
        return "speaker" if ("speaker-independent" in text or "speakers disjoint" in text) \
            else "random"

    @property
    def base_model(self) -> str:
        """Model name without the qualifiers the reference appends ("(TFIDF)", protocol)."""
        name = self.model
        for suffix in (" (TFIDF)", " (speaker-independent)"):
            name = name.replace(suffix, "")
        return name.strip()


@dataclasses.dataclass(frozen=True)
class ReferenceMatch:
    """What the report shows beside one of our (split, model) results.

    ``row`` is set only when the reference measured the same thing the same way (``comparable``);
    ``other`` holds the reference's rows for the same model under another protocol, shown as
    context with ``note`` explaining why they are not compared.
    """

    row: Optional[ReferenceRow]
    comparable: bool
    note: str
    other: tuple[ReferenceRow, ...] = ()


def _float(value: str) -> Optional[float]:
    value = (value or "").strip()
    return float(value) if value else None


def load_reference(path: str | os.PathLike | None = None) -> list[ReferenceRow]:
    """The reference's rows, or [] when the file is not there (a user's clone has no ../shared)."""
    path = Path(path) if path else REFERENCE_CSV
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [ReferenceRow(r["task"].strip().lower(), r["dataset"].strip(), r["model"].strip(),
                             _float(r["train_acc_mean"]), _float(r["train_acc_std"]),
                             _float(r["test_acc_mean"]), _float(r["test_acc_std"]),
                             r["protocol"].strip())
                for r in csv.DictReader(f)]


def reference_model_name(task: str, model: str) -> Optional[str]:
    """Our model name in the reference's words, or None when the reference has no such model.

    MER baselines keep their plain names (the reference's MER rows say "LinSVM"); fusion names
    ``TEXT+AUDIO`` become "Electra + 1D CNN" and the like.
    """
    if task == "mer" and "+" in model:
        text, audio = model.split("+", 1)
        if text in _FUSION_PARTS and audio in _FUSION_PARTS:
            return f"{_FUSION_PARTS[text]} + {_FUSION_PARTS[audio]}"
        return None
    return REFERENCE_MODELS.get(model)


def match_reference(rows: Sequence[ReferenceRow], preset: str, task: str, model: str,
                    split: str) -> ReferenceMatch:
    """The reference row comparable with our (preset, task, model, split), or why there is none."""
    if not rows:
        return ReferenceMatch(None, False, "reference table not found "
                                           f"({REFERENCE_CSV}); nothing to compare with")
    dataset = REFERENCE_DATASETS.get(preset)
    if dataset is None:
        known = ", ".join(f"{k} ({v})" for k, v in REFERENCE_DATASETS.items())
        return ReferenceMatch(None, False, f"the reference has no results on preset {preset!r} "
                                           f"(it reports {known})")
    name = reference_model_name(task, model)
    same = [r for r in rows if r.task == task and r.dataset == dataset and r.base_model == name]
    if name is None or not same:
        return ReferenceMatch(None, False, f"the reference reports no {task.upper()} model "
                                           f"{model!r} on {dataset}")
    exact = [r for r in same if r.split == split]
    if exact:
        return ReferenceMatch(exact[0], True, f"same protocol: {exact[0].protocol}",
                              tuple(r for r in same if r is not exact[0]))
    protocols = "; ".join(sorted({r.protocol for r in same}))
    return ReferenceMatch(None, False,
                          f"protocol differs, not compared: reference {protocols}; this run "
                          f"{PROTOCOL_WORDS.get(split, split)}", tuple(same))


def table46_reference(rows: Sequence[ReferenceRow], dataset: str = "RAVDESS-8"
                      ) -> list[dict]:
    """The reference's Table 4.6: SER models measured both speaker-dependent and -independent.

    In thesis-results.csv these are the "TRILL"/"YAMNet" rows of RAVDESS-8 and their
    "(speaker-independent)" twins; any model with both protocols on ``dataset`` is listed.
    """
    by_model: dict[str, dict[str, ReferenceRow]] = {}
    for r in rows:
        if r.task == "ser" and r.dataset == dataset:
            by_model.setdefault(r.base_model, {})[r.split] = r
    out = []
    for name, both in by_model.items():
        if "random" in both and "speaker" in both:
            dep, ind = both["random"], both["speaker"]
            out.append({"model": name, "dependent": dep.test_mean, "dependent_std": dep.test_std,
                        "independent": ind.test_mean, "independent_std": ind.test_std,
                        "drop": dep.test_mean - ind.test_mean})
    return out


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and population std (ddof=0, as numpy's default the reference's notebooks used)."""
    arr = np.asarray(list(values), dtype=np.float64)
    return float(arr.mean()), float(arr.std())


def pm(mean: Optional[float], std: Optional[float]) -> str:
    """``71.76 ± 0.90``: the reference's table format; "-" where there is no value."""
    if mean is None:
        return "-"
    return f"{mean:.2f} ± {std:.2f}" if std is not None else f"{mean:.2f}"


def summarize(records: Sequence[dict], rows: Sequence[ReferenceRow], preset: str, task: str
              ) -> list[dict]:
    """One row per (split, model): mean ± std of train/test/balanced accuracy over the runs."""
    keys: list[tuple[str, str]] = []
    for r in records:
        if (r["split"], r["model"]) not in keys:
            keys.append((r["split"], r["model"]))
    out = []
    for split, model in keys:
        mine = [r for r in records if r["split"] == split and r["model"] == model]
        train_m, train_s = mean_std(r["train_accuracy"] for r in mine)
        test_m, test_s = mean_std(r["test_accuracy"] for r in mine)
        bal_m, bal_s = mean_std(r["balanced_accuracy"] for r in mine)
        match = match_reference(rows, preset, task, model, split)
        ref = match.row
        out.append({
            "split": split, "model": model, "runs": len(mine),
            "train_acc_mean": train_m, "train_acc_std": train_s,
            "test_acc_mean": test_m, "test_acc_std": test_s,
            "balanced_acc_mean": bal_m, "balanced_acc_std": bal_s,
            "ref_model": ref.model if ref else "",
            "ref_train_acc_mean": ref.train_mean if ref else None,
            "ref_train_acc_std": ref.train_std if ref else None,
            "ref_test_acc_mean": ref.test_mean if ref else None,
            "ref_test_acc_std": ref.test_std if ref else None,
            "delta_test": (test_m - ref.test_mean) if ref and ref.test_mean is not None
            else None,
            "comparable": match.comparable,
            "note": match.note,
            "context": "; ".join(f"{o.model}: test {pm(o.test_mean, o.test_std)} "
                                 f"({o.protocol})" for o in match.other),
        })
    return out


def table46_ours(summary: Sequence[dict]) -> list[dict]:
    """Our speaker-dependent vs speaker-independent test accuracy per model (where run)."""
    out = []
    for model in dict.fromkeys(r["model"] for r in summary):
        by_split = {r["split"]: r for r in summary if r["model"] == model}
        dep, ind = by_split.get("random"), by_split.get("speaker")
        if dep is None and ind is None:
            continue
        out.append({"model": model,
                    "dependent": dep["test_acc_mean"] if dep else None,
                    "dependent_std": dep["test_acc_std"] if dep else None,
                    "independent": ind["test_acc_mean"] if ind else None,
                    "independent_std": ind["test_acc_std"] if ind else None,
                    "drop": (dep["test_acc_mean"] - ind["test_acc_mean"])
                    if dep and ind else None})
    return out


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def _pyplot():
    """matplotlib with the file-only backend (no display on servers and CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def normalise_rows(cm: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix (each true class sums to 1: its diagonal is its recall)."""
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def plot_confusion(cm: np.ndarray, labels: Sequence[str], path: str | os.PathLike, title: str,
                   normalised: bool) -> None:
    """One confusion-matrix PNG (rows: true class, columns: predicted)."""
    plt = _pyplot()
    values = normalise_rows(cm) if normalised else np.asarray(cm)
    n = len(labels)
    size = max(4.0, 0.6 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalised else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    top = values.max() if values.size else 0
    for i in range(n):
        for j in range(n):
            v = values[i, j]
            text = f"{v:.2f}" if normalised else f"{int(v)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if top and v > 0.6 * top else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_curves(histories: Sequence[dict], path: str | os.PathLike, title: str) -> None:
    """Loss and accuracy per epoch for every run: train solid, validation dashed, test dotted.

    The test curve is the held-out split evaluated after each epoch, for *monitoring only*:
    training never sees it and early stopping watches the validation slice of the train split.
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = (("", "-", "train"), ("val_", "--", "validation"), ("test_", ":", "test (monitor)"))
    shown = set()
    for i, hist in enumerate(histories):
        color = colors[i % len(colors)]
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            for prefix, style, _ in styles:
                values = hist.get(prefix + metric)
                if values:
                    ax.plot(range(1, len(values) + 1), values, style, color=color, lw=1.2)
                    shown.add(prefix)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color="gray", ls=style, label=name)
               for prefix, style, name in styles if prefix in shown]
    axes[1].legend(handles=handles, fontsize=8, loc="lower right")
    fig.suptitle(f"{title}: {len(histories)} run(s), one colour per run", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# CSV / Markdown / HTML
# ---------------------------------------------------------------------------------------------


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
