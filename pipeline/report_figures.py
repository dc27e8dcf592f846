"""The run report's figures as PNG bytes (embedded in report.html, so it is one file).

The confusion matrix is drawn by the model study's plotter (one look for both reports).
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np

from pipeline.experiments.report_plots import plot_confusion


def confusion_png(cm: np.ndarray, labels: Sequence[str], title: str) -> bytes:
    """Row-normalised (each row's diagonal is that class's recall), counts in the title."""
    buf = io.BytesIO()
    plot_confusion(cm, list(labels), buf, f"{title} ({int(cm.sum())} eval examples)",
                   normalised=True)
    return buf.getvalue()


def recall_png(recall: np.ndarray, labels: Sequence[str], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # file-only backend: no display on servers and CI
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(labels) + 2), 3.2))
    values = np.nan_to_num(recall, nan=0.0)
    ax.bar(range(len(labels)), values, color="#4c72b0")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall")
    mean = float(np.nanmean(recall)) if np.isfinite(recall).any() else 0.0
    ax.axhline(mean, color="gray", ls="--", lw=1)
    ax.set_title(f"{title}: per-class recall (dashed: UAR {mean:.3f})", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
