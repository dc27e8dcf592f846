"""Feature study: which of MFCC / Mel / Chroma (7 combinations) to feed the utterance models.

Why this exists: the reference chose MFCC+Mel+Chroma (180 values) from a study on IEMOCAP that
trained its four scikit-learn baselines and its 1D CNN on each of the 7 combinations and ranked
them by maximum and mean test accuracy. We rerun that study with *our* features (computed by the
same in-graph code the Transform and the served model use, not by librosa in a notebook), our
baselines (`components.baselines`) and our 1D CNN (`components.trainer.models`), so the choice
is re-checked on the data we actually ship for, with the numbers we actually serve.

How, in short:

1. Each run is one split (stratified random or speaker-disjoint, seed ``seed + run - 1``) put
   through the pipeline's own feature prefix (``study_data.prepare_split``: the preset's reader
   and split assignment, then the Transform), with the reference's utterance features: the
   time-means of MFCC (40), Mel (128) and Chroma (12) from WAV bytes, min-max scaled with
   train-split statistics. Each combination is a column slice of that vector (mfcc 0:40, mel
   40:168, chroma 168:180): min-max scaling is per column, so a slice is exactly that
   combination's scaled features, and the 7 combinations cost one Transform.
2. For each combination: the baselines with the reference's SER hyperparameters (the Baselines
   component's ``fit_and_score``) and the 1D CNN through the Trainer's ``fit_model`` for a fixed
   number of epochs (no early stopping: the reported accuracy is the final model's).
3. Tables: max and mean test accuracy (%) per combination over all (model, run) pairs, each
   ordered descending, beside the reference's IEMOCAP values. Absolute numbers are not
   comparable across datasets (RAVDESS has 8 classes, IEMOCAP-4 has 4); the ordering is.

Entry point: :func:`run_feature_study` (the CLI is ``mer experiment features``).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time
import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from components.core.config import FeatureConfig, Preset, SplitConfig
from components.core.errors import MissingDataError, UsageError
from components.core.features import AUDIO_FEATURES
from components.core.model_names import BASELINES
from pipeline.experiments.study_data import EVAL, TRAIN, prepare_split
from pipeline.experiments.study_fit import fit_baseline_arrays, fit_candidate

Progress = Callable[[str], None]

#: The three utterance feature kinds, in the order ``utterance_features`` concatenates them.
KINDS: tuple[str, ...] = ("mfcc", "mel", "chroma")
#: All 7 non-empty combinations, named as in the reference's table ("mfcc+mel+chroma", ...).
COMBINATIONS: tuple[tuple[str, ...], ...] = (
    ("mfcc",), ("mel",), ("chroma",),
    ("mfcc", "mel"), ("mfcc", "chroma"), ("mel", "chroma"),
    ("mfcc", "mel", "chroma"),
)
SPLITS = ("random", "speaker")


def combination_name(kinds: Sequence[str]) -> str:
    """``("mfcc", "chroma") -> "mfcc+chroma"``: the reference's naming, used as table keys."""
    return "+".join(k for k in KINDS if k in kinds)


def feature_columns(kinds: Sequence[str], params=None) -> np.ndarray:
    """Column indices of ``kinds`` inside the full mfcc+mel+chroma vector of time-means.

    Slicing one vector instead of recomputing per combination is exact because
    ``utterance_features`` computes each kind independently and concatenates in fixed order.
    """
    from components.transform.audio_features import AudioFeatureParams

    params = params or AudioFeatureParams()
    sizes = {"mfcc": params.n_mfcc, "mel": params.n_mels, "chroma": params.n_chroma}
    cols, start = [], 0
    for kind in KINDS:
        if kind in kinds:
            cols.extend(range(start, start + sizes[kind]))
        start += sizes[kind]
    return np.asarray(cols, dtype=np.int64)


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
    preset: str | Preset = "ravdess",
    runs: int = 3,
    split: str = "random",
    models: Sequence[str] = DEFAULT_MODELS,
    seed: int = 42,
    epochs: int = 40,
    batch_size: int = 32,
    output_dir: Optional[str | os.PathLike] = None,
    cache_dir: Optional[str | os.PathLike] = None,
    duration_s: Optional[float] = None,
    progress: Optional[Progress] = print,
) -> FeatureStudyResult:
    """Train ``models`` on each of the 7 feature combinations over ``runs`` seeded splits.

    Args:
      data_root: dataset folder, read by the preset's reader.
      preset: pipeline preset (reader, labels, clip duration, the CNN's hyperparameters).
      runs: number of seeded 80/20 splits (seeds ``seed, seed+1, ...``); the reference used 10.
      split: "random" (stratified, speaker-dependent, the reference's protocol) or "speaker".
      models: any of "linsvm", "rf", "mnb", "lr" (reference SER hyperparameters) and "cnn1d".
      epochs, batch_size: 1D CNN training (fixed epochs, final model scored).
      output_dir: where CSV + Markdown go; None writes nothing.
      cache_dir: where each split's pipeline runs (TFX cache); default ``output_dir/cache``.
      duration_s: pad/trim length; None = the preset's.
      progress: called with one line per (run, combination, model); None is silent.
    """
    from pipeline.configs import get_preset

    started = time.time()
    say: Progress = progress or (lambda _line: None)
    models = tuple(models)
    unknown = [m for m in models if m not in DEFAULT_MODELS]
    if unknown or not models:
        raise UsageError(f"unknown model(s) {unknown}; choose from {DEFAULT_MODELS}")
    if split not in SPLITS:
        raise UsageError(f"split must be one of {SPLITS}, got {split!r}")
    if runs < 1 or epochs < 1:
        raise UsageError("runs and epochs must be >= 1")
    if not Path(data_root).exists():
        raise MissingDataError(f"{data_root} does not exist; pass the dataset folder")
    cfg = preset if isinstance(preset, Preset) else get_preset(preset)  # --config/--set
    preset = cfg.name
    duration_s = float(duration_s or cfg.features.fixed_duration_s("the feature study"))
    # The reference's features: time-means of all three kinds, min-max scaled.
    features = FeatureConfig(duration_s=duration_s, audio_kinds=KINDS, audio_stats=("mean",),
                             audio_deltas=False, mel_db=False, audio_scaling="min_max")
    cfg = cfg.replace(features=features)
    train_cfg = dataclasses.replace(cfg.train, epochs=epochs, batch_size=batch_size,
                                    validation_fraction=0.0, augment=(), ensemble_size=1)
    cache = Path(cache_dir or (Path(output_dir) / "cache" if output_dir else
                               Path(data_root).resolve().parent / ".feature_study_cache"))
    say(f"feature study: preset {preset}, {runs} {split} split(s), {duration_s} s clips; the "
        f"pipeline's ingestion and Transform once per split, 7 column slices")
    from sklearn.exceptions import ConvergenceWarning

    total = runs * len(COMBINATIONS) * len(models)
    records: list[dict] = []
    feature_seconds, labels, n_clips = 0.0, [], 0
    for run in range(1, runs + 1):
        ts = prepare_split(cfg, str(data_root), str(cache), ("ser",),
                           SplitConfig(method=split, seed=seed + run - 1,
                                       test_fraction=cfg.split.test_fraction))
        feature_seconds += ts.seconds
        labels = ts.labels
        (x_train,), y_train = _audio(ts, TRAIN)
        (x_test,), y_test = _audio(ts, EVAL)
        n_clips = len(y_train) + len(y_test)
        for kinds in COMBINATIONS:
            name = combination_name(kinds)
            cols = feature_columns(kinds)
            for model in models:
                run_cfg = dataclasses.replace(train_cfg, seed=seed + run)
                if model == "cnn1d":
                    fit = fit_candidate(ts, "ser", "cnn1d", run_cfg,
                                        rows_fn=_slicer(cols),
                                        feature_spec=_sliced_spec(ts, len(cols)))
                else:
                    with warnings.catch_warnings():
                        # The reference's max_iter leaves LinearSVC short of convergence on
                        # some combinations; that is part of reproducing it, not an error.
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        fit = fit_baseline_arrays(model, "ser", labels, x_train[:, cols], y_train,
                                                  x_test[:, cols], y_test, run_cfg)
                rec = {"run": run, "combination": name, "model": model,
                       "accuracy": fit.test_accuracy, "train_accuracy": fit.train_accuracy,
                       "seconds": round(fit.seconds, 2)}
                records.append(rec)
                say(f"[{len(records):>3}/{total}] run {run}/{runs}  {name:<16} {model:<7} "
                    f"test {rec['accuracy']:6.2f}%  train {rec['train_accuracy']:6.2f}%  "
                    f"{rec['seconds']:6.1f} s")

    max_table, mean_table = _tables(records)
    config = {"preset": preset, "data_root": str(data_root), "n_clips": n_clips,
              "n_classes": len(labels), "labels": labels, "duration_s": duration_s,
              "runs": runs, "split": split, "models": list(models), "seed": seed,
              "epochs": epochs, "batch_size": batch_size,
              "hp": {"hidden_units": cfg.train.hidden_units, "dropout": cfg.train.dropout,
                     "learning_rate": cfg.train.learning_rate},
              "feature_seconds": feature_seconds}
    result = FeatureStudyResult(records, max_table, mean_table, config,
                                wall_seconds=time.time() - started)
    if output_dir is not None:
        result.files = _write_outputs(result, output_dir)
    return result


def _audio(ts, split: str) -> tuple[tuple[np.ndarray], np.ndarray]:
    x, y = ts.arrays(split, [AUDIO_FEATURES])
    return (x[AUDIO_FEATURES],), y


def _slicer(cols: np.ndarray):
    import tensorflow as tf

    index = tf.constant(cols)
    return lambda rows: rows.map(
        lambda x, y: ({**x, AUDIO_FEATURES: tf.gather(x[AUDIO_FEATURES], index)}, y))


def _sliced_spec(ts, width: int) -> dict:
    import tensorflow as tf

    spec = dict(ts.tft_output().transformed_feature_spec())
    spec[AUDIO_FEATURES] = tf.io.FixedLenFeature([width], tf.float32)
    return spec
