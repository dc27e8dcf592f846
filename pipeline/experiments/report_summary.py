"""The model study's numbers: mean ± std per (split, model), beside the comparable reference row.

Why this exists: the reference reported mean ± (population) std over runs in a fixed format;
reducing the per-run records to those numbers, attaching the matching reference row and our
speaker-dependent vs speaker-independent comparison (its Table 4.6) is one step, shared by the
printed table, the CSV, Markdown and HTML reports and the fusion benchmark.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from pipeline.experiments.report_reference import ReferenceRow, match_reference


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
