"""Feature study: which of MFCC / Mel / Chroma (7 combinations) to feed the utterance models.

Why this exists: the reference chose MFCC+Mel+Chroma (180 values) from a study on IEMOCAP that
trained its four scikit-learn baselines and its 1D CNN on each of the 7 combinations and ranked
them by maximum and mean test accuracy. We rerun that study with *our* features (computed by the
same in-graph code the Transform and the served model use, not by librosa in a notebook), our
baselines (`components.baselines`) and our 1D CNN (`components.trainer.models`), so the choice
is re-checked on the data we actually ship for, with the numbers we actually serve.

How, in short:

1. Every clip is decoded from 16 kHz mono PCM_16 WAV bytes (the data contract) and padded or
   trimmed to the preset's duration; the 180 utterance features are computed once per clip in
   batches with ``decode_wav`` + ``utterance_features``. Each combination is a column slice of
   that vector (mfcc 0:40, mel 40:168, chroma 168:180), so the 7 combinations cost one pass.
2. For each of ``runs`` seeded 80/20 splits (stratified random, or speaker-disjoint), for each
   combination: min-max scale on the train split only (as the reference's MinMaxScaler, but
   without leaking test statistics), fit the baselines with the reference's SER
   hyperparameters and train the 1D CNN for a fixed number of epochs (no early stopping on the
   test split: the reported accuracy is the final model's, not a best-epoch pick).
3. Tables: max and mean test accuracy (%) per combination over all (model, run) pairs, each
   ordered descending, beside the reference's IEMOCAP values. Absolute numbers are not
   comparable across datasets (RAVDESS has 8 classes, IEMOCAP-4 has 4); the ordering is.

Entry point: :func:`run_feature_study` (the CLI is ``mer experiment features``). Clips and
features are :mod:`pipeline.experiments.feature_study_data`, splits, scaling and the CNN
:mod:`pipeline.experiments.feature_study_fit`; this module runs the study and writes its
tables.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from components.core.model_names import BASELINES
from pipeline.experiments.feature_study_data import (
    COMBINATIONS,
    Progress,
    combination_name,
    compute_features,
    feature_columns,
    list_clips,
    load_wavs,
    resolve_preset,
    stratified_subset,
)
from pipeline.experiments.feature_study_fit import SPLITS, make_splits, minmax_scale, train_cnn1d

DEFAULT_MODELS: tuple[str, ...] = BASELINES + ("cnn1d",)

# Reference data, not a result of this code: the reference thesis' feature-combination study on
# IEMOCAP-4 (baselines + 1D CNN, 10 runs of 5-fold validation), copied from the table in
# ../shared/reference/thesis-summary.md ("Features" section). Values are test accuracy in %.
REFERENCE_IEMOCAP: dict[str, dict[str, float]] = {
    "mfcc+chroma": {"max": 59.77, "mean": 53.05},
    "mfcc": {"max": 59.73, "mean": 53.00},
    "mfcc+mel": {"max": 58.76, "mean": 53.03},
    "mfcc+mel+chroma": {"max": 58.71, "mean": 53.57},
    "mel+chroma": {"max": 55.55, "mean": 46.46},
    "mel": {"max": 55.11, "mean": 44.20},
    "chroma": {"max": 39.82, "mean": 37.08},
}


@dataclasses.dataclass
class FeatureStudyResult:
    """Everything the study measured, plus the two ordered tables and where files went.

    ``records`` has one row per (run, combination, model) with accuracies in %; the tables
    aggregate over all models and runs of a combination, as the reference's tables do.
    """

    records: list[dict]
    max_table: list[dict]
    mean_table: list[dict]
    config: dict
    wall_seconds: float
    files: dict[str, str] = dataclasses.field(default_factory=dict)

    def per_model_means(self) -> dict[str, dict[str, float]]:
        """Mean test accuracy per combination and model: which model drives each row."""
        out: dict[str, dict[str, list[float]]] = {}
        for r in self.records:
            out.setdefault(r["combination"], {}).setdefault(r["model"], []).append(r["accuracy"])
        return {c: {m: float(np.mean(v)) for m, v in d.items()} for c, d in out.items()}

    def table_lines(self) -> list[str]:
        """Both tables as aligned text, each beside the reference's IEMOCAP column."""
        lines = []
        cfg = self.config
        what = (f"{cfg['preset']}: {cfg['n_clips']} clips, {cfg['n_classes']} classes, "
                f"{cfg['runs']} {cfg['split']} split(s) x {len(cfg['models'])} models")
        for key, title, rows in (("max", "Max test accuracy per combination", self.max_table),
                                 ("mean", "Mean test accuracy per combination",
                                  self.mean_table)):
            lines.append(f"{title} ({what}); reference = IEMOCAP-4 (thesis)")
            lines.append(f"{'#':>2}  {'combination':<16} {'ours %':>7}  {'ref %':>6} "
                         f"{'ref #':>5}" + ("  best model" if key == "max" else "  std"))
            for rank, row in enumerate(rows, 1):
                extra = (f"  {row['best_model']} (run {row['best_run']})" if key == "max"
                         else f"  {row['std']:.2f}")
                lines.append(f"{rank:>2}  {row['combination']:<16} {row[key]:>7.2f}  "
                             f"{row['ref_' + key]:>6.2f} {row['ref_rank_' + key]:>5}{extra}")
            lines.append("")
        return lines

    def markdown(self) -> str:
        """The tables, the per-model breakdown and the settings, for docs and review."""
        cfg = self.config
        out = [f"# Feature study: {cfg['preset']}", "",
               f"- clips: {cfg['n_clips']} ({cfg['n_classes']} classes: "
               f"{', '.join(cfg['labels'])}), {cfg['duration_s']} s at 16 kHz, features "
               f"computed in-graph from WAV bytes",
               f"- splits: {cfg['runs']} x {cfg['split']} 80/20 (seed {cfg['seed']})",
               f"- models: {', '.join(cfg['models'])}; 1D CNN {cfg['epochs']} epochs, "
               f"batch {cfg['batch_size']}, hp {cfg['hp']}",
               f"- wall time: {self.wall_seconds:.0f} s (features {cfg['feature_seconds']:.1f} s)",
               "- reference: IEMOCAP-4 values from ../shared/reference/thesis-summary.md "
               "(different dataset and class count: compare orderings, not absolute values)",
               ""]
        for key, title, rows in (("max", "Max test accuracy (%)", self.max_table),
                                 ("mean", "Mean test accuracy (%)", self.mean_table)):
            out += [f"## {title}", ""]
            if key == "max":
                out += ["| # | combination | ours | best model (run) | reference IEMOCAP | ref # |",
                        "|---|---|---|---|---|---|"]
            else:
                out += ["| # | combination | ours | std | reference IEMOCAP | ref # |",
                        "|---|---|---|---|---|---|"]
            for rank, row in enumerate(rows, 1):
                mid = (f"{row['best_model']} ({row['best_run']})" if key == "max"
                       else f"{row['std']:.2f}")
                out.append(f"| {rank} | {row['combination']} | {row[key]:.2f} | {mid} | "
                           f"{row['ref_' + key]:.2f} | {row['ref_rank_' + key]} |")
            out.append("")
        means = self.per_model_means()
        models = list(cfg["models"])
        out += ["## Mean test accuracy per model (%)", "",
                "| combination | " + " | ".join(models) + " |",
                "|---|" + "---|" * len(models)]
        for row in self.mean_table:
            vals = means[row["combination"]]
            out.append(f"| {row['combination']} | "
                       + " | ".join(f"{vals[m]:.2f}" for m in models) + " |")
        out.append("")
        return "\n".join(out)


def _tables(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Aggregate records into the max and mean tables, each sorted descending (ties by name)."""
    ref_rank = {key: {name: i + 1 for i, name in enumerate(
        sorted(REFERENCE_IEMOCAP, key=lambda n: (-REFERENCE_IEMOCAP[n][key], n)))}
        for key in ("max", "mean")}
    rows = []
    for kinds in COMBINATIONS:
        name = combination_name(kinds)
        mine = [r for r in records if r["combination"] == name]
        if not mine:
            continue
        accs = [r["accuracy"] for r in mine]
        best = max(mine, key=lambda r: r["accuracy"])
        rows.append({
            "combination": name,
            "max": max(accs),
            "best_model": best["model"],
            "best_run": best["run"],
            "mean": float(np.mean(accs)),
            "std": float(np.std(accs)),
            "n": len(accs),
            "ref_max": REFERENCE_IEMOCAP[name]["max"],
            "ref_mean": REFERENCE_IEMOCAP[name]["mean"],
            "ref_rank_max": ref_rank["max"][name],
            "ref_rank_mean": ref_rank["mean"][name],
        })
    by_max = sorted(rows, key=lambda r: (-r["max"], r["combination"]))
    by_mean = sorted(rows, key=lambda r: (-r["mean"], r["combination"]))
    return by_max, by_mean


def _write_outputs(result: FeatureStudyResult, output_dir: str | os.PathLike) -> dict[str, str]:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"runs_csv": str(out / "feature_study_runs.csv"),
             "tables_csv": str(out / "feature_study_tables.csv"),
             "markdown": str(out / "feature_study.md")}
    fields = ["run", "combination", "model", "accuracy", "train_accuracy", "seconds"]
    with open(files["runs_csv"], "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(result.records)
    rank_max = {r["combination"]: i + 1 for i, r in enumerate(result.max_table)}
    with open(files["tables_csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["combination", "rank_max", "max_accuracy", "best_model", "best_run",
                         "rank_mean", "mean_accuracy", "std", "n", "ref_iemocap_max",
                         "ref_rank_max", "ref_iemocap_mean", "ref_rank_mean"])
        for rank, r in enumerate(result.mean_table, 1):
            writer.writerow([r["combination"], rank_max[r["combination"]], f"{r['max']:.4f}",
                             r["best_model"], r["best_run"], rank, f"{r['mean']:.4f}",
                             f"{r['std']:.4f}", r["n"], r["ref_max"], r["ref_rank_max"],
                             r["ref_mean"], r["ref_rank_mean"]])
    Path(files["markdown"]).write_text(result.markdown())
    return files


def run_feature_study(
    data_root: str | os.PathLike,
    preset: str = "ravdess",
    runs: int = 3,
    split: str = "random",
    models: Sequence[str] = DEFAULT_MODELS,
    seed: int = 42,
    epochs: int = 40,
    batch_size: int = 32,
    output_dir: Optional[str | os.PathLike] = None,
    max_clips: Optional[int] = None,
    duration_s: Optional[float] = None,
    feature_batch_size: int = 64,
    progress: Optional[Progress] = print,
) -> FeatureStudyResult:
    """Train ``models`` on each of the 7 feature combinations over ``runs`` seeded splits.

    Args:
      data_root: dataset folder, listed by the preset's ingest reader (see :func:`list_clips`
        for the fallback without one).
      preset: pipeline preset; supplies the reader, label order, clip duration and the CNN's
        hidden units, dropout and learning rate (read at call time and written to the
        Markdown, since they change results). Unknown names: 3 s and built-in defaults.
      runs: number of seeded 80/20 splits (seeds ``seed, seed+1, ...``); the reference used 10.
      split: "random" (stratified, speaker-dependent, the reference's protocol) or "speaker".
      models: any of "linsvm", "rf", "mnb", "lr" (reference SER hyperparameters) and "cnn1d".
      epochs, batch_size: 1D CNN training (fixed epochs, final model scored).
      output_dir: where CSV + Markdown go; None writes nothing.
      max_clips: a seeded stratified subset of the clips (quick runs, tests); None = all.
      duration_s: pad/trim length; None = the preset's.
      progress: called with one line per (run, combination, model); None is silent.

    Returns:
      A :class:`FeatureStudyResult` whose ``max_table``/``mean_table`` are the ordered tables.
    """
    started = time.time()
    say: Progress = progress or (lambda _line: None)
    models = tuple(models)
    unknown = [m for m in models if m not in DEFAULT_MODELS]
    if unknown or not models:
        raise ValueError(f"unknown model(s) {unknown}; choose from {DEFAULT_MODELS}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if runs < 1 or epochs < 1:
        raise ValueError("runs and epochs must be >= 1")

    cfg = resolve_preset(preset)
    duration_s = float(duration_s or (cfg.features.fixed_duration_s("the feature study")
                                      if cfg else 3.0))
    hp = {"hidden_units": cfg.train.hidden_units if cfg else 128,
          "dropout": cfg.train.dropout if cfg else 0.3,
          "learning_rate": cfg.train.learning_rate if cfg else 1e-3}

    clips = list_clips(data_root, preset, say)
    known = set(cfg.labels) if cfg and cfg.labels else None
    if known is not None:
        clips = [c for c in clips if c.emotion in known]
    chosen = stratified_subset([c.emotion for c in clips], max_clips, seed)
    clips = [clips[i] for i in chosen]
    say(f"feature study: {len(clips)} clips, {duration_s} s at 16 kHz; computing the 180 "
        f"in-graph utterance features once per clip ...")
    t0 = time.time()
    clips, wavs = load_wavs(clips, say)
    features = compute_features(wavs, duration_s, batch_size=feature_batch_size)
    feature_seconds = time.time() - t0
    if not np.all(np.isfinite(features)):
        raise ValueError("non-finite audio features; check the input audio")

    present = {c.emotion for c in clips}
    labels = ([name for name in cfg.labels if name in present] if known is not None
              else sorted(present))
    if len(labels) < 2:
        raise ValueError(f"need at least 2 classes, found {labels} under {data_root}")
    y = np.asarray([labels.index(c.emotion) for c in clips], dtype=np.int64)
    speakers = np.asarray([c.speaker for c in clips])
    say(f"features: {features.shape} in {feature_seconds:.1f} s (WAV bytes + in-graph "
        f"features); {len(labels)} classes: {', '.join(labels)}")

    from sklearn.exceptions import ConvergenceWarning

    from components.baselines.executor import fit_and_score

    splits = make_splits(y, speakers, runs, split, seed)
    total = runs * len(COMBINATIONS) * len(models)
    records: list[dict] = []
    for run, (train_idx, test_idx) in enumerate(splits, 1):
        for kinds in COMBINATIONS:
            name = combination_name(kinds)
            cols = feature_columns(kinds)
            x_train, x_test = minmax_scale(features[train_idx][:, cols],
                                           features[test_idx][:, cols])
            y_train, y_test = y[train_idx], y[test_idx]
            for model in models:
                t = time.time()
                if model == "cnn1d":
                    metrics = train_cnn1d(x_train, y_train, x_test, y_test, len(labels), epochs,
                                          batch_size, hp, seed + run)
                else:
                    with warnings.catch_warnings():
                        # The reference's max_iter leaves LinearSVC short of convergence on
                        # some combinations; that is part of reproducing it, not an error.
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        _, metrics = fit_and_score(model, "ser", x_train, y_train, x_test,
                                                   y_test, labels, seed=seed + run)
                rec = {"run": run, "combination": name, "model": model,
                       "accuracy": 100.0 * metrics["accuracy"],
                       "train_accuracy": 100.0 * metrics["train_accuracy"],
                       "seconds": round(time.time() - t, 2)}
                records.append(rec)
                say(f"[{len(records):>3}/{total}] run {run}/{runs}  {name:<16} {model:<7} "
                    f"test {rec['accuracy']:6.2f}%  train {rec['train_accuracy']:6.2f}%  "
                    f"{rec['seconds']:6.1f} s")

    max_table, mean_table = _tables(records)
    config = {"preset": preset, "data_root": str(data_root), "n_clips": len(clips),
              "n_classes": len(labels), "labels": labels, "duration_s": duration_s,
              "runs": runs, "split": split, "models": list(models), "seed": seed,
              "epochs": epochs, "batch_size": batch_size, "hp": hp,
              "feature_seconds": feature_seconds}
    result = FeatureStudyResult(records, max_table, mean_table, config,
                                wall_seconds=time.time() - started)
    if output_dir is not None:
        result.files = _write_outputs(result, output_dir)
    return result
