"""Model study: N seeded runs per model, reported the way the reference reported its tables.

Why this exists: the project's claims rest on numbers measured the way the reference measured
them (train and test accuracy, mean ± std over repeated seeded 80/20 runs, confusion matrices),
plus the speaker-independent numbers the reference said matter but mostly skipped (its Table
4.6: TRILL 67.13% speaker-dependent -> 50.89% on new speakers). A single pipeline run gives one
number on one split; this study gives the distribution, per protocol, next to the reference's.

What it reuses, so its answers apply to what the pipeline ships: everything. Each run is one
split configuration (method, seed ``seed + i`` for run i, fold) put through the pipeline's own
feature prefix (``study_data.prepare_split``: the preset's reader and split assignment in
EmotionExampleGen, then StatisticsGen, SchemaGen, ExampleValidator and the Transform, cached by
TFX under ``<output_dir>/cache``), so run i sees the examples, features and TF-IDF vocabulary a
``mer run`` with that split gets. Keras models train through the Trainer's ``fit_model``
(validation carve-out of the train split, early stopping, the preset's schedule and
augmentation) and baselines through the Baselines component's loader and ``fit_and_score``
(``study_fit.fit_candidate``). The eval split is scored once, after training.

Outputs (``output_dir``): ``runs.csv`` (one row per split, model, run), ``summary.csv`` and
``results.md`` (mean ± std in the reference's format, beside the reference's row when dataset,
task, model and protocol match, see :mod:`pipeline.experiments.report_reference`),
``report.html`` (self-contained, images referenced relatively), ``confusion/`` (raw and
row-normalised PNG + CSV, summed over runs), ``curves/`` (Keras training/validation/test curves,
PNG + CSV), ``splits.csv`` (which example was in which split in every run) and ``config.json``.

Entry point: :func:`run_model_study`; names are checked in ``model_study_names``, data and
fitting are ``study_data`` and ``study_fit``; ``mer experiment models`` is ``model_study_cli``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from components.core.config import Preset
from components.core.errors import UsageError
from components.core.features import (
    AUDIO_FEATURES,
    LOG_MEL,
    OPTIONAL_FEATURES,
    TEXT_RAW,
    TEXT_TFIDF,
    WAVEFORM,
)
from pipeline.configs import DEFAULT_OUTPUT_DIR
from pipeline.experiments.model_study_names import (
    check_models,
    is_baseline,
    needed_features,
    parse_splits,
    resolve_task,
    split_plan,
)
from pipeline.experiments.report import (
    RUN_FIELDS,
    SUMMARY_FIELDS,
    html_report,
    markdown_report,
    write_csv,
)
from pipeline.experiments.report_plots import plot_confusion, plot_curves
from pipeline.experiments.report_reference import (
    REFERENCE_DATASETS,
    load_reference,
    table46_reference,
)
from pipeline.experiments.report_summary import pm, summarize, table46_ours
from pipeline.experiments.study_data import listed_speakers, prepare_split
from pipeline.experiments.study_fit import fit_candidate

DEFAULT_OUTPUT_ROOT = DEFAULT_OUTPUT_DIR / "experiments" / "model_study"


@dataclasses.dataclass
class ModelStudyResult:
    """Per-run records, the per-(split, model) summary and where the files went."""

    records: list[dict]
    summary: list[dict]
    config: dict
    files: dict[str, str]
    wall_seconds: float

    def table_lines(self) -> list[str]:
        """The summary as aligned text (the reference's train/test mean ± std format)."""
        lines = [f"{'split':<8} {'model':<14} {'runs':>4}  {'train acc. %':>15}  "
                 f"{'test acc. %':>15}  {'reference test':>15}  note"]
        for r in self.summary:
            lines.append(
                f"{r['split']:<8} {r['model']:<14} {r['runs']:>4}  "
                f"{pm(r['train_acc_mean'], r['train_acc_std']):>15}  "
                f"{pm(r['test_acc_mean'], r['test_acc_std']):>15}  "
                f"{pm(r['ref_test_acc_mean'], r['ref_test_acc_std']):>15}  {r['note']}")
        return lines


Progress = Callable[[str], None]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def run_model_study(
    preset: str | Preset,
    data_root: str | os.PathLike,
    models: Sequence[str],
    runs: int,
    split: str | Sequence[str],
    output_dir: str | os.PathLike,
    epochs: Optional[int] = None,
    seed: int = 0,
    progress: Optional[Progress] = print,
    task: Optional[str] = None,
    cache_dir: Optional[str | os.PathLike] = None,
    reference_csv: Optional[str | os.PathLike] = None,
    command: str = "",
) -> ModelStudyResult:
    """Trains every model on ``runs`` seeded splits per split method and writes the report.

    Args:
      preset: pipeline preset name (reader, labels, clip duration, TF-IDF settings, Keras
        hyperparameters, epochs, batch size, validation fraction, early stopping patience).
      data_root: the dataset folder the preset's reader lists.
      models: baselines (linsvm, rf, mnb, lr) and/or Keras model names of ``build_model``.
      runs: seeded runs per model for random/speaker splits (seeds seed .. seed+runs-1);
        loso and kfold iterate all their folds instead.
      split: one method or several ("random,speaker" gives the Table 4.6 comparison).
      output_dir: where the report, CSVs and figures go.
      epochs: Keras epochs (None: the preset's, with early stopping on the validation slice).
      seed: base seed of splits and models.
      progress: called with one line per run (model, run i/N, accuracy, elapsed); None: silent.
      task: ter/ser/mer; None infers it (see :func:`resolve_task`).
      cache_dir: per-clip feature cache (None: ``<output_dir>/cache``).
      reference_csv: the reference's results (None: ../shared/reference/thesis-results.csv).
      command: the command line, written into the report.
    """
    from components.core.config import SplitConfig
    from pipeline.configs import get_preset

    started = time.time()
    say: Progress = progress or (lambda _line: None)
    cfg = preset if isinstance(preset, Preset) else get_preset(preset)  # --config/--set
    preset = cfg.name
    splits = parse_splits(split)
    models = list(dict.fromkeys(models))
    if runs < 1:
        raise UsageError(f"runs must be >= 1, got {runs}")
    if epochs is not None and epochs < 1:
        raise UsageError(f"epochs must be >= 1, got {epochs}")
    task = resolve_task(cfg, models, task)
    if task not in cfg.tasks:
        raise UsageError(f"preset {preset!r} supports {', '.join(cfg.tasks)}, not {task}")
    check_models(task, models)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache_dir) if cache_dir is not None else out / "cache"
    features = needed_features(task, models)
    say(f"model study: preset {preset}, task {task.upper()}, models {', '.join(models)}, "
        f"splits {', '.join(splits)}; features {', '.join(sorted(features))}")
    n_speakers = len(listed_speakers(cfg, str(data_root))) if "loso" in splits else 0
    plans = {s: split_plan(s, n_speakers, runs, seed, cfg.split.n_folds) for s in splits}
    total = sum(len(p) for p in plans.values()) * len(models)
    records: list[dict] = []
    confusion: dict[tuple[str, str], np.ndarray] = {}
    histories: dict[tuple[str, str], list[dict]] = {}
    split_rows: list[str] = ["split,run,id,speaker,emotion,assignment"]
    labels: list[str] = []
    prep_seconds, counts = 0.0, {}
    from sklearn.metrics import confusion_matrix

    for split_name in splits:
        plan = plans[split_name]
        for i, (run_seed, fold) in enumerate(plan, 1):
            split_cfg = SplitConfig(method=split_name, seed=run_seed,
                                    test_fraction=cfg.split.test_fraction,
                                    n_folds=cfg.split.n_folds, fold=fold)
            ts = prepare_split(cfg, str(data_root), str(cache_dir), (task,), split_cfg,
                               extra_features=sorted(features & set(OPTIONAL_FEATURES)))
            labels, prep_seconds, counts = ts.labels, prep_seconds + ts.seconds, \
                ts.ingest_counts()
            rows = ts.assignments()
            for r in rows:
                split_rows.append(f"{split_name},{i},{r['id']},{r['speaker']},{r['emotion']},"
                                  f"{'test' if r['split'] == 'eval' else 'train'}")
            test_speakers = {r["speaker"] for r in rows if r["split"] == "eval"} - {""}
            shared = len({r["speaker"] for r in rows if r["split"] == "train"} & test_speakers)
            model_seed = run_seed + (fold if split_name in ("loso", "kfold") else 0)
            task_cfg = cfg.train.for_task(task)
            train_cfg = dataclasses.replace(task_cfg, seed=model_seed,
                                            epochs=epochs or task_cfg.epochs)
            for model in models:
                fit = fit_candidate(ts, task, model, train_cfg)
                rec = {
                    "split": split_name, "model": model, "run": i, "seed": run_seed,
                    "fold": fold if split_name in ("loso", "kfold") else "",
                    "n_train": counts["by_split"].get("train", 0), "n_test": len(fit.y_test),
                    "train_accuracy": fit.train_accuracy, "test_accuracy": fit.test_accuracy,
                    "balanced_accuracy": fit.uar, "epochs": fit.epochs,
                    "eval_speakers": " ".join(sorted(test_speakers))
                    if split_name in ("speaker", "loso") else "",
                    "shared_speakers": shared, "seconds": round(fit.seconds, 2),
                }
                records.append(rec)
                cm = confusion_matrix(fit.y_test, fit.pred_test, labels=list(range(len(labels))))
                confusion[(split_name, model)] = confusion.get(
                    (split_name, model), np.zeros_like(cm)) + cm
                if fit.history:
                    histories.setdefault((split_name, model), []).append(fit.history)
                say(f"[{len(records):>3}/{total}] {split_name:<7} {model:<12} run {i}/{len(plan)}"
                    f"  test {rec['test_accuracy']:6.2f}%  train {rec['train_accuracy']:6.2f}%"
                    f"{f'  {fit.epochs} epochs' if fit.epochs else ''}  {fit.seconds:6.1f} s"
                    f"  elapsed {_elapsed(time.time() - started)}")

    reference = load_reference(reference_csv)
    summary = summarize(records, reference, preset, task)
    table46 = None
    if task == "ser" and REFERENCE_DATASETS.get(preset) == "RAVDESS-8":
        table46 = (table46_ours(summary), table46_reference(reference))
    elif {"random", "speaker"} <= set(splits):
        table46 = (table46_ours(summary), [])
    figures = _write_figures(out, labels, confusion, histories)
    config = {
        "preset": preset, "task": task, "data_root": str(data_root),
        "n_examples": counts.get("written", 0),
        "labels": labels, "splits": splits, "models": models, "seed": seed,
        "runs_desc": "; ".join(f"{s}: {len(p)}" + (" folds" if s in ("loso", "kfold") else "")
                               for s, p in plans.items()),
        "keras_desc": _keras_desc(cfg, epochs, models),
        "features_desc": _features_desc(cfg, features),
        "feature_seconds": prep_seconds, "cache_dir": str(cache_dir),
        "rejected": counts.get("quarantined", 0), "command": command,
        "wall_seconds": time.time() - started,
    }
    caveats = _caveats(splits, task, features, preset)
    files = {"runs_csv": str(out / "runs.csv"), "summary_csv": str(out / "summary.csv"),
             "markdown": str(out / "results.md"), "html": str(out / "report.html"),
             "splits_csv": str(out / "splits.csv"), "config": str(out / "config.json")}
    write_csv(files["runs_csv"], records, RUN_FIELDS)
    write_csv(files["summary_csv"], summary, SUMMARY_FIELDS)
    Path(files["splits_csv"]).write_text("\n".join(split_rows) + "\n")
    config["wall_seconds"] = time.time() - started
    Path(files["markdown"]).write_text(markdown_report(config, summary, records, table46))
    Path(files["html"]).write_text(html_report(config, summary, records, figures, table46,
                                               caveats))
    Path(files["config"]).write_text(json.dumps(config, indent=2, default=str))
    return ModelStudyResult(records, summary, config, files, config["wall_seconds"])


def _write_figures(out: Path, labels: list[str], confusion: dict, histories: dict
                   ) -> dict[tuple[str, str], dict[str, str]]:
    """Confusion matrices (PNG + CSV) and curves (PNG + CSV); paths relative to ``out``."""
    (out / "confusion").mkdir(exist_ok=True)
    figures: dict[tuple[str, str], dict[str, str]] = {}
    for (split, model), cm in confusion.items():
        stem = f"{split}-{_slug(model)}"
        figs = figures.setdefault((split, model), {})
        plot_confusion(cm, labels, out / "confusion" / f"{stem}-counts.png",
                       f"{model}, {split} split: counts summed over runs",
                       normalised=False)
        plot_confusion(cm, labels, out / "confusion" / f"{stem}-normalised.png",
                       f"{model}, {split} split: row-normalised (recall)", normalised=True)
        buf = io.StringIO()
        buf.write("true\\predicted," + ",".join(labels) + "\n")
        for name, row in zip(labels, cm, strict=True):
            buf.write(name + "," + ",".join(str(int(v)) for v in row) + "\n")
        (out / "confusion" / f"{stem}.csv").write_text(buf.getvalue())
        figs.update({"cm_raw": f"confusion/{stem}-counts.png",
                     "cm_norm": f"confusion/{stem}-normalised.png",
                     "confusion.csv": f"confusion/{stem}.csv"})
    if histories:
        (out / "curves").mkdir(exist_ok=True)
    for (split, model), hists in histories.items():
        stem = f"{split}-{_slug(model)}"
        plot_curves(hists, out / "curves" / f"{stem}.png", f"{model}, {split} split")
        keys = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]
        lines = ["run,epoch," + ",".join(keys)]
        for r, h in enumerate(hists, 1):
            for e in range(len(h.get("loss", []))):
                vals = [h.get(k, []) for k in keys]
                lines.append(f"{r},{e + 1}," + ",".join(
                    f"{v[e]:.6f}" if e < len(v) else "" for v in vals))
        (out / "curves" / f"{stem}.csv").write_text("\n".join(lines) + "\n")
        figures.setdefault((split, model), {}).update(
            {"curves_png": f"curves/{stem}.png", "curves.csv": f"curves/{stem}.csv"})
    return figures


def _keras_desc(cfg, epochs: Optional[int], models: Sequence[str]) -> str:
    if all(is_baseline(m) for m in models):
        return "none"
    t = cfg.train
    stop = (f"early stopping on a {t.validation_fraction:.0%} validation slice of the train split "
            f"(patience {t.early_stopping_patience}, best weights restored)"
            if t.validation_fraction > 0 and t.early_stopping_patience else "no early stopping")
    return (f"up to {epochs or t.epochs} epochs, batch {t.batch_size}, lr {t.learning_rate}, "
            f"hidden {t.hidden_units}, dropout {t.dropout}; {stop}")


def _features_desc(cfg, features: set[str]) -> str:
    parts = []
    f = cfg.features
    if AUDIO_FEATURES in features:
        parts.append(f"{'+'.join(f.audio_kinds)} utterance {'+'.join(f.audio_stats)}"
                     f"{' (+ MFCC deltas)' if f.audio_deltas else ''} (in-graph, {f.duration_s} s "
                     f"at 16 kHz, {f.audio_scaling} scaled on train)")
    if LOG_MEL in features:
        parts.append("log-mel frames (64 bands, z-scored on train)")
    if WAVEFORM in features:
        parts.append("16 kHz waveform")
    if TEXT_TFIDF in features:
        parts.append(f"the Transform's TF-IDF {tuple(f.tfidf_ngrams)}-grams, vocabulary of "
                     f"{f.tfidf_vocab_size} terms with min count {f.tfidf_min_count}"
                     f"{', English stop words' if f.stop_words else ''} (analysed on train)")
    if TEXT_RAW in features:
        parts.append("raw text (tokenised in the model)")
    return "; ".join(parts)


def _caveats(splits: Sequence[str], task: str, features: set[str], preset: str) -> list[str]:
    out = []
    if "random" in splits:
        out.append("The random split is speaker-dependent (the same speakers appear in train and "
                   "test: see 'shared speakers'), the reference's protocol; it overstates "
                   "accuracy on new voices, which the speaker split measures.")
    if REFERENCE_DATASETS.get(preset) is None:
        out.append(f"The reference has no results on {preset!r}: nothing here is compared.")
    return out
