"""The model study's figures: confusion matrices and training curves as PNG files.

Why this exists: plotting needs matplotlib with a file-only backend (no display on servers and
CI) and is the only part of the report that does; keeping it apart keeps that import, and the
figure layout, out of the numbers and the text reports.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np


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
